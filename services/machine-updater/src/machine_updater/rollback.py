"""An operator's rollback: every running machine back to an older generation, on purpose.

Unlike a roll-out, a machine must end on exactly the rollback's generation (not "at least"), and
the call carries an authorisation the agent checks (`showcase_common.rollback_auth`, signed with
the update secret, naming the operator): a plain update naming an older generation is refused.
No canary (the generation was served before), and a pause does not hold it (the operators act
on purpose). A machine already on the generation is not called. Its events are the roll-out's
own, for no request: `MachineUpdated`/`MachineUpdateFailed`, then `FleetUpdated`/`FleetUpdateFailed`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from showcase_common.backoff import retry
from showcase_common.events import FailureReason, RollbackRequested

from machine_updater.client import MachineClient, MachineError
from machine_updater.fleet import Machine
from machine_updater.plan import Plan
from machine_updater.rollout import MachinePolicy, MachineResult
from machine_updater.truth import NotLevel


def plan_of(event: RollbackRequested) -> Plan:
    """The rollback as a roll-out of the older snapshot, for no request, on every machine."""
    return Plan(event.snapshot, (), None, event.event_id)


async def roll_back_machine(
    client: MachineClient, machine: Machine, event: RollbackRequested, policy: MachinePolicy
) -> MachineResult:
    """Bring one machine to exactly the rollback's generation, within its deadline; never raises."""
    started = time.monotonic()
    target = event.snapshot
    seen = _Seen()

    async def attempt() -> None:
        seen.count += 1
        served = await client.status(machine)
        if served != target.generation:
            seen.called = True
            served = await client.rollback(machine, target, event.actor)
        seen.generation = served
        if served != target.generation:
            raise NotLevel(f"serves generation {served}, not {target.generation}")

    error: str | None = None
    reason: FailureReason = "unknown"
    try:
        async with asyncio.timeout(policy.retry.budget_s):
            await retry(
                attempt,
                backoff=policy.retry.backoff,
                attempts=policy.retry.attempts,
                retryable=lambda e: isinstance(e, MachineError) and e.retryable,
            )
    except TimeoutError:
        error, reason = f"did not finish within its {policy.retry.budget_s:g}s deadline", "timeout"
    except MachineError as exc:
        error, reason = str(exc), exc.reason
    elapsed = time.monotonic() - started
    return MachineResult(machine, seen.generation, error, seen.called, seen.count, elapsed, reason)


@dataclass
class _Seen:
    count: int = 0
    called: bool = False
    generation: int | None = None
