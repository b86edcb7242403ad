"""The one backoff: how long to wait before trying again, and the two ways of trying again.

- `Backoff.delay(n)`: capped exponential, `base · 2^(n-1)` at most `cap`, plus up to `jitter`
  seconds at random (after the cap, so that a fleet's retries never arrive in step, even capped).
  The consumer loop's nak delays, the mail relay's next attempt, the syncer's S3 retries and the
  updater's calls to the agents all use it.
- `retry(work, …)`: a bounded number of attempts (and seconds), for work that then gives up.
- `until_stopped(work, stop, …)`: attempts until the work succeeds or the process stops, for
  what a service cannot run without (the first generation, an agent's boot catch-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Backoff", "RetryPolicy", "Sleep", "retry", "until_stopped", "wait_unless_stopped"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
OnRetry = Callable[[int, Exception], Awaitable[None]]
"""Called before attempt n (n ≥ 2), with the error of the attempt before."""
OnError = Callable[[Exception, float], None]
"""Called after a failed attempt, with its error and the seconds until the next one."""


@dataclass(frozen=True)
class Backoff:
    """Capped exponential delay for the nth attempt: base · 2^(n-1), at most cap, plus jitter."""

    base_s: float = 1.0
    cap_s: float = 60.0
    jitter_s: float = 0.0

    def delay(self, attempt: int) -> float:
        exponent = max(0, attempt - 1)
        # 2**exponent overflows a float past ~1024: by then the cap has long applied.
        capped = self.cap_s if exponent > 64 else min(self.cap_s, self.base_s * 2**exponent)
        return capped + (random.uniform(0, self.jitter_s) if self.jitter_s > 0 else 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded tries of one piece of work (the syncer's S3 writes, the updater's calls to one
    machine): at most `attempts`, within `budget_s` seconds, with a capped exponential backoff
    between them (`initial_s` doubling up to `max_s`, plus up to `jitter_s`)."""

    attempts: int = 5
    budget_s: float = 60.0
    initial_s: float = 0.5
    max_s: float = 8.0
    jitter_s: float = 0.0

    @property
    def backoff(self) -> Backoff:
        return Backoff(base_s=self.initial_s, cap_s=self.max_s, jitter_s=self.jitter_s)


async def retry(
    work: Callable[[], Awaitable[T]],
    *,
    backoff: Backoff,
    attempts: int,
    retryable: Callable[[Exception], bool],
    budget_s: float | None = None,
    on_retry: OnRetry | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Await `work()` until it succeeds, at most `attempts` times and (after a failure) no longer
    than `budget_s` since the first attempt; errors `retryable` refuses are raised at once, and
    the last error as it is when the attempts or the budget run out."""
    started = clock()
    for attempt in itertools.count(1):
        try:
            return await work()
        except Exception as exc:
            spent = budget_s is not None and clock() - started >= budget_s
            if not retryable(exc) or attempt >= attempts or spent:
                raise
            if on_retry is not None:
                await on_retry(attempt + 1, exc)
            await sleep(backoff.delay(attempt))
    raise AssertionError("unreachable: itertools.count never ends")


async def until_stopped(
    work: Callable[[], Awaitable[T]],
    stop: asyncio.Event,
    *,
    backoff: Backoff,
    retryable: Callable[[Exception], bool],
    on_error: OnError,
) -> T | None:
    """Await `work()` until it succeeds (its result) or `stop` is set (None); `on_error` hears of
    each retryable failure, the others are raised."""
    for attempt in itertools.count(1):
        if stop.is_set():
            return None
        try:
            return await work()
        except Exception as exc:
            if not retryable(exc):
                raise
            delay = backoff.delay(attempt)
            on_error(exc, delay)
            await wait_unless_stopped(stop, delay)
    raise AssertionError("unreachable: itertools.count never ends")


async def wait_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less when `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
