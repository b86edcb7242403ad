"""The one backoff: its delays, the bounded retry and the retry until stopped."""

from __future__ import annotations

import asyncio

import pytest
from showcase_common.backoff import Backoff, retry, until_stopped


class Flaky:
    """Fails `failures` times with `error`, then answers "done"."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def test_delays_double_up_to_the_cap() -> None:
    backoff = Backoff(base_s=0.5, cap_s=3)
    assert [backoff.delay(n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]
    assert backoff.delay(10_000) == 3  # no overflow however long it has been failing


def test_jitter_is_added_after_the_cap_and_stays_within_its_bound() -> None:
    backoff = Backoff(base_s=1, cap_s=4, jitter_s=0.5)
    for attempt in (1, 3, 50):
        base = min(4, 2 ** (attempt - 1))
        assert all(base <= backoff.delay(attempt) <= base + 0.5 for _ in range(50))


async def test_retry_returns_once_the_work_succeeds() -> None:
    work, sleeps = Flaky(2, OSError("down")), Sleeps()
    heard: list[tuple[int, str]] = []

    async def on_retry(attempt: int, exc: Exception) -> None:
        heard.append((attempt, str(exc)))

    result = await retry(
        work,
        backoff=Backoff(base_s=1, cap_s=8),
        attempts=5,
        retryable=lambda exc: True,
        on_retry=on_retry,
        sleep=sleeps,
    )
    assert (result, work.calls, sleeps.seconds) == ("done", 3, [1, 2])
    assert heard == [(2, "down"), (3, "down")]


async def test_retry_raises_the_last_error_when_the_attempts_run_out() -> None:
    work, sleeps = Flaky(10, OSError("down")), Sleeps()
    with pytest.raises(OSError, match="down"):
        await retry(work, backoff=Backoff(), attempts=3, retryable=lambda e: True, sleep=sleeps)
    assert (work.calls, len(sleeps.seconds)) == (3, 2)


async def test_retry_raises_at_once_what_is_not_retryable() -> None:
    work = Flaky(10, ValueError("bad"))
    with pytest.raises(ValueError):
        await retry(
            work,
            backoff=Backoff(),
            attempts=5,
            retryable=lambda exc: isinstance(exc, OSError),
            sleep=Sleeps(),
        )
    assert work.calls == 1


async def test_retry_stops_when_the_budget_is_spent() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    work = Flaky(10, OSError("down"))
    with pytest.raises(OSError):
        await retry(
            work,
            backoff=Backoff(base_s=4, cap_s=4),
            attempts=100,
            budget_s=10,
            retryable=lambda exc: True,
            sleep=sleep,
            clock=lambda: now[0],
        )
    assert work.calls == 4  # failures at 0, 4, 8 and 12 s: the budget is spent after the last


async def test_until_stopped_retries_until_the_work_succeeds() -> None:
    work, stop = Flaky(2, OSError("down")), asyncio.Event()
    failures: list[tuple[str, float]] = []
    result = await until_stopped(
        work,
        stop,
        backoff=Backoff(base_s=0.001, cap_s=0.002),
        retryable=lambda exc: True,
        on_error=lambda exc, delay: failures.append((str(exc), delay)),
    )
    assert (result, failures) == ("done", [("down", 0.001), ("down", 0.002)])


async def test_until_stopped_gives_up_when_stopped() -> None:
    stop = asyncio.Event()

    def failed(exc: Exception, delay: float) -> None:
        stop.set()  # the process is told to stop while it waits for the next attempt

    work = Flaky(10, OSError("down"))
    result = await until_stopped(
        work, stop, backoff=Backoff(base_s=60), retryable=lambda e: True, on_error=failed
    )
    assert (result, work.calls) == (None, 1)


async def test_until_stopped_raises_what_is_not_retryable() -> None:
    with pytest.raises(ValueError):
        await until_stopped(
            Flaky(1, ValueError("bad")),
            asyncio.Event(),
            backoff=Backoff(),
            retryable=lambda exc: isinstance(exc, OSError),
            on_error=lambda exc, delay: None,
        )
