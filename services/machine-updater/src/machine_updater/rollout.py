"""Updating machines: one machine with retries, a deadline and the truth check; many at once.

A machine counts as updated only when it reports a generation at least the one required and
each covered showcase page answers rightly on it within `page_deadline_s` (`truth.py`: 200 in
the page's region, the fly-replay there elsewhere). Each attempt is one update call: a machine
that already serves the generation answers it as a no-op (nothing downloaded; a redelivered or
replayed event costs one call, not an update), so no status is read before it. The agent checks
the new pages itself right after its update and says how each answered: the updater judges
those answers as it judges its own (`truth.judge_reported`) and asks only a page the answer
leaves unsettled — one round trip per machine in all, not three. The canary's pages are always
asked by the updater itself, from outside, before the others follow (`MachinePolicy`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from showcase_common.backoff import RetryPolicy, retry
from showcase_common.events import FailureReason, Snapshot

from machine_updater.client import MachineClient, MachineError
from machine_updater.fleet import Machine
from machine_updater.truth import ExpectedPage, NotLevel, check_pages, judge_reported

Target = Callable[[], Awaitable[Snapshot]]
"""The snapshot to apply now: the roll-out's own, or a newer one that superseded it."""


@dataclass(frozen=True)
class MachinePolicy:
    """One machine's update: tried again under `retry` (its `budget_s` is the machine's whole
    deadline), the new pages given `page_deadline_s` to answer rightly within an attempt."""

    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=4, budget_s=120.0))
    page_deadline_s: float = 60.0
    trust_reported_pages: bool = True
    """Whether the machine's own page check (in its update answer) settles a page; False (the
    canary): the updater asks every page itself, through the machine's public way in."""


@dataclass(frozen=True)
class MachineResult:
    machine: Machine
    generation: int | None
    error: str | None
    called: bool
    """Whether it applied the generation (False when it already served it: a no-op)."""
    attempts: int
    duration_s: float
    reason: FailureReason = "unknown"
    """Why it failed, as a code (meaningless when ok)."""
    handed_on: dict[str, str] = field(default_factory=dict)
    """The pages it hands on (fly-replay) to their region, by path; it serves the others."""
    apply_s: float = 0.0
    """Of `duration_s`, the machine's own applying, as it reported it (0: it did not say)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def outcome(self) -> str:
        """updated (it applied the generation), already_current, or failed."""
        return "failed" if not self.ok else "updated" if self.called else "already_current"


@dataclass
class _Attempts:
    count: int = 0
    called: bool = False
    generation: int | None = None
    handed_on: dict[str, str] = field(default_factory=dict)
    apply_s: float = 0.0


async def update_machine(
    client: MachineClient,
    machine: Machine,
    *,
    target: Target,
    required: int,
    pages: Sequence[ExpectedPage],
    policy: MachinePolicy,
    showcase_ids: Sequence[int] = (),
) -> MachineResult:
    """Bring one machine to `required` or beyond, within its deadline; never raises."""
    started = time.monotonic()
    state = _Attempts()
    error: str | None = None
    reason: FailureReason = "unknown"

    async def attempt() -> None:
        state.count += 1
        await _attempt(client, machine, target, required, pages, policy, state, showcase_ids)

    try:
        async with asyncio.timeout(policy.retry.budget_s):
            await retry(
                attempt,
                backoff=policy.retry.backoff,
                attempts=policy.retry.attempts,
                retryable=_retryable,
            )
    except TimeoutError:
        error = f"did not finish within its {policy.retry.budget_s:g}s deadline, {_attempts(state.count)}"
        reason = "timeout"
    except MachineError as exc:
        error, reason = f"{exc}, {_attempts(state.count)}", exc.reason
    elapsed = time.monotonic() - started
    return MachineResult(
        machine,
        state.generation,
        error,
        state.called,
        state.count,
        elapsed,
        reason,
        state.handed_on if error is None else {},
        state.apply_s,
    )


def _attempts(count: int) -> str:
    return "after 1 attempt" if count == 1 else f"after {count} attempts"


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, MachineError) and exc.retryable


async def _attempt(
    client: MachineClient,
    machine: Machine,
    target: Target,
    required: int,
    pages: Sequence[ExpectedPage],
    policy: MachinePolicy,
    state: _Attempts,
    showcase_ids: Sequence[int] = (),
) -> None:
    snapshot = await target()
    answer = await client.update(machine, snapshot, showcase_ids)
    state.apply_s += answer.apply_s
    state.called = state.called or answer.applied
    state.generation = served = answer.generation
    if served < required:
        raise NotLevel(f"still serves generation {served}, not {required}")
    reported = answer.pages if policy.trust_reported_pages else {}
    settled, unsettled = judge_reported(machine, pages, reported)
    asked = await check_pages(client, machine, unsettled, deadline_s=policy.page_deadline_s)
    state.handed_on = settled | asked


class MachinePace:
    """How far away each machine is: its last call's time beyond its own applying, as this
    updater saw it (kept in memory: a restarted updater learns again in one roll-out).

    A roll-out starts its calls one after another (each is a request to build and send), so
    with 32 machines the last call leaves tens of milliseconds after the first, and with a
    concurrency bound below the fleet's size a machine may wait for a whole slot. Calling the
    slowest machines first puts that wait on the machines that finish early anyway, and the
    roll-out ends sooner. What tells them apart is the distance (round trip, a busy network),
    steady from one roll-out to the next; the apply itself is the same work on every machine
    and varies with the moment's contention, so the reported apply time is left out. A
    machine never seen goes first of all (it may be slow); machines of the same pace keep the
    fleet's order."""

    def __init__(self) -> None:
        self._last_s: dict[str, float] = {}

    def learn(self, result: MachineResult) -> None:
        if result.ok:
            self._last_s[result.machine.id] = max(0.0, result.duration_s - result.apply_s)

    def last_s(self, machine_id: str) -> float | None:
        """Its last successful call's seconds beyond its own applying (None: never seen)."""
        return self._last_s.get(machine_id)

    def slowest_first(self, machines: Sequence[Machine]) -> list[Machine]:
        return sorted(machines, key=lambda m: -self._last_s.get(m.id, math.inf))


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
