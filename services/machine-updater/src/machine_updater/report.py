"""The events of one roll-out: each machine as it finishes, then the fleet's outcome."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from showcase_common.bus import EventPublisher
from showcase_common.events import (
    CanaryStarted,
    FleetUpdated,
    FleetUpdateFailed,
    MachineFailure,
    MachineUpdated,
    MachineUpdateFailed,
)

from machine_updater.fleet import Machine
from machine_updater.plan import Plan
from machine_updater.rollout import MachineResult

log = logging.getLogger(__name__)


class Report:
    """Publishes the per-machine and the fleet events of one roll-out."""

    def __init__(self, publisher: EventPublisher, p: Plan, *, total: int) -> None:
        self._publisher = publisher
        self._plan = p
        self._total = total
        self._done = 0
        self._lock = asyncio.Lock()  # `done` goes out in the order machines finish

    async def machine_finished(self, result: MachineResult, *, canary: bool = False) -> None:
        async with self._lock:
            self._done += 1
            await self._publish_machine(result, self._done, canary=canary)

    async def canary_started(self, machine: Machine) -> None:
        p = self._plan
        started = CanaryStarted(
            generation=p.generation,
            requests=list(p.requests),
            machine_id=machine.id,
            region=machine.region,
            total=self._total,
        )
        await self._publisher.publish(started, msg_id=self._id("canary", machine.id))

    async def canary_failed(self, result: MachineResult, untouched: list[str]) -> None:
        """The roll-out halts at its canary: the verdict, naming the machines left as they were."""
        p, m = self._plan, result.machine
        failure = MachineFailure(
            machine_id=m.id, region=m.region, reason=result.reason, error=result.error or ""
        )
        failed = FleetUpdateFailed(
            generation=p.generation,
            requests=list(p.requests),
            failures=[failure],
            halted_by_canary=True,
            untouched=sorted(untouched),
        )
        await self._publisher.publish(failed, msg_id=self._id("fleet-failed"))

    async def _publish_machine(self, result: MachineResult, done: int, *, canary: bool) -> None:
        p, m = self._plan, result.machine
        common = {
            "generation": p.generation,
            "requests": list(p.requests),
            "machine_id": m.id,
            "region": m.region,
            "done": done,
            "total": self._total,
        }
        if result.ok:
            log.info(
                "machine %s (%s) serves generation %s%s",
                m.id,
                m.region,
                result.generation,
                f"; hands on {result.handed_on}" if result.handed_on else "",
            )
            event = MachineUpdated(
                **common,
                duration_s=round(result.duration_s, 3),
                handed_on=result.handed_on,
                protocol=m.protocol,
                canary=canary,
            )
            await self._publisher.publish(event, msg_id=self._id("machine", m.id))
        else:
            log.warning("machine %s (%s) failed: %s", m.id, m.region, result.error)
            failed = MachineUpdateFailed(
                **common, reason=result.reason, error=result.error or "unknown error"
            )
            await self._publisher.publish(failed, msg_id=self._id("machine-failed", m.id))

    async def fleet_finished(
        self, results: Sequence[MachineResult], skipped: list[str], duration_s: float
    ) -> None:
        p = self._plan
        updated = sorted(r.machine.id for r in results if r.ok)
        failures = [
            MachineFailure(
                machine_id=r.machine.id,
                region=r.machine.region,
                reason=r.reason,
                error=r.error or "",
            )
            for r in sorted(results, key=lambda r: r.machine.id)
            if not r.ok
        ]
        common = {"generation": p.generation, "requests": list(p.requests)}
        if failures:
            failed = FleetUpdateFailed(**common, failures=failures, updated=updated)
            await self._publisher.publish(failed, msg_id=self._id("fleet-failed"))
            return
        done = FleetUpdated(
            **common, machine_ids=updated, skipped=skipped, duration_s=round(duration_s, 3)
        )
        await self._publisher.publish(done, msg_id=self._id("fleet"))

    def _id(self, kind: str, machine_id: str | None = None) -> str:
        parts = [kind, str(self._plan.generation), machine_id, self._plan.rollout_id]
        return ":".join(p for p in parts if p)
