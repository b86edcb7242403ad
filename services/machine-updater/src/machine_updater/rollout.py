"""Updating machines: one machine with retries, a deadline and the truth check; many at once.

A machine counts as updated only when it reports a generation at least the one required and
each covered showcase page answers 200 on it. Before every attempt the machine's status is read
first, so a machine that already serves the generation is never asked to apply it again (a
redelivered or replayed event costs one GET, not an update).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from showcase_common.events import FailureReason, Snapshot
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from machine_updater.client import MachineClient, MachineError
from machine_updater.fleet import Machine

Target = Callable[[], Awaitable[Snapshot]]
"""The snapshot to apply now: the roll-out's own, or a newer one that superseded it."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    initial_s: float = 0.5
    max_s: float = 8.0
    deadline_s: float = 120.0


@dataclass(frozen=True)
class MachineResult:
    machine: Machine
    generation: int | None
    error: str | None
    called: bool
    """Whether its update endpoint was called (False when it already served the generation)."""
    attempts: int
    duration_s: float
    reason: FailureReason = "unknown"
    """Why it failed, as a code (meaningless when ok)."""

    @property
    def ok(self) -> bool:
        return self.error is None


class NotLevel(MachineError):
    """The machine answered but does not (yet) serve what it must: worth another attempt."""

    reason: FailureReason = "not_serving"


@dataclass
class _Attempts:
    count: int = 0
    called: bool = False
    generation: int | None = None


async def update_machine(
    client: MachineClient,
    machine: Machine,
    *,
    target: Target,
    required: int,
    paths: Sequence[str],
    policy: RetryPolicy,
    showcase_ids: Sequence[int] = (),
) -> MachineResult:
    """Bring one machine to `required` or beyond, within its deadline; never raises."""
    started = time.monotonic()
    state = _Attempts()
    error: str | None = None
    reason: FailureReason = "unknown"
    try:
        async with asyncio.timeout(policy.deadline_s):
            async for attempt in _retrying(policy):
                with attempt:
                    state.count += 1
                    await _attempt(client, machine, target, required, paths, state, showcase_ids)
    except TimeoutError:
        error = (
            f"did not finish within its {policy.deadline_s:g}s deadline, {_attempts(state.count)}"
        )
        reason = "timeout"
    except MachineError as exc:
        error, reason = f"{exc}, {_attempts(state.count)}", exc.reason
    elapsed = time.monotonic() - started
    return MachineResult(
        machine, state.generation, error, state.called, state.count, elapsed, reason
    )


def _attempts(count: int) -> str:
    return "after 1 attempt" if count == 1 else f"after {count} attempts"


def _retrying(policy: RetryPolicy) -> AsyncRetrying:
    return AsyncRetrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, MachineError) and exc.retryable),
        stop=stop_after_attempt(policy.attempts),
        # capped exponential, plus a little jitter so a fleet's retries do not arrive in step
        wait=wait_exponential(multiplier=policy.initial_s, max=policy.max_s)
        + wait_random(0, policy.initial_s / 5),
        reraise=True,
    )


async def _attempt(
    client: MachineClient,
    machine: Machine,
    target: Target,
    required: int,
    paths: Sequence[str],
    state: _Attempts,
    showcase_ids: Sequence[int] = (),
) -> None:
    snapshot = await target()
    served = await client.status(machine)
    if served is None or served < snapshot.generation:
        state.called = True
        served = await client.update(machine, snapshot, showcase_ids)
    state.generation = served
    if served < required:
        raise NotLevel(f"still serves generation {served}, not {required}")
    for path in paths:
        code = await client.page_status(machine, path)
        if code != 200:
            raise NotLevel(f"does not serve the page yet ({path} answered {code})")


async def update_all(
    machines: Sequence[Machine],
    update: Callable[[Machine], Awaitable[MachineResult]],
    *,
    concurrency: int,
    on_result: Callable[[MachineResult], Awaitable[None]],
) -> list[MachineResult]:
    """Update every machine, at most `concurrency` at once; `on_result` as each one finishes."""
    gate = asyncio.Semaphore(max(1, concurrency))
    results: list[MachineResult] = []

    async def one(machine: Machine) -> None:
        async with gate:
            result = await update(machine)
        results.append(result)
        await on_result(result)

    try:
        async with asyncio.TaskGroup() as group:
            for machine in machines:
                group.create_task(one(machine))
    except ExceptionGroup as group_error:  # `update` never raises: `on_result` (publishing) did
        raise group_error.exceptions[0] from group_error
    return results
