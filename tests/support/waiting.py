"""Waiting for a condition that has no event to await (state in another process, a file, a log).

A deadline, not a timed assertion: the condition is polled until it holds, and the test fails
with `what` only when the deadline passes.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `check` until it holds; `TimeoutError` naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not true within {timeout_s}s")
        time.sleep(0.05)


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout_s: float = 30.0, what: str = ""
) -> None:
    """The async twin of `wait_until`; `check` may be a plain or an async function."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what or 'the condition'} not true within {timeout_s}s")
        await asyncio.sleep(0.02)
