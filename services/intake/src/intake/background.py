"""The loop both outbox relays share: a pass when woken after a commit, and one every few seconds.

A wake-up can be missed (a crash between commit and wake), a poll cannot; so the rows are the
truth and the wake-up only makes delivery prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class PollingRelay(ABC):
    """Runs `drain()` on every wake-up and every `poll_s` seconds until stopped."""

    def __init__(self, poll_s: float) -> None:
        self._poll_s = poll_s
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @abstractmethod
    async def drain(self) -> int:
        """Deliver what is due; return how many were delivered."""

    def wake(self) -> None:
        """Ask for a pass now; safe to call from any thread (from the loop's own, at no cost:
        no write to the loop's self-pipe)."""
        if self._loop is None:
            return
        if on_loop(self._loop):
            self._wakeup.set()
        else:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wakeup.clear()
            try:
                await self.drain()
            except Exception:  # never let the relay die: the next pass tries again
                log.exception("%s pass failed", type(self).__name__)
            await first_of(stop, self._wakeup, self._poll_s)


def on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the caller runs in `loop`'s own thread (then no thread-safe hand-off is needed)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def first_of(stop: asyncio.Event, wakeup: asyncio.Event, timeout_s: float) -> None:
    """Wait until stopped, woken, or `timeout_s` has passed, whichever comes first."""
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wakeup.wait())]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
