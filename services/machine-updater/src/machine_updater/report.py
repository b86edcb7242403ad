"""The events of one roll-out: each machine as it finishes, then the fleet's outcome.

A machine's event is sent as it finishes, without waiting for the bus's acknowledgement of the
one before (each publish awaiting its ack in turn cost a round trip per machine, 11–23 ms each
under load, and the fleet's verdict waited behind them). The verdict (`FleetUpdated`,
`FleetUpdateFailed`) is published only once every machine event of the roll-out is
acknowledged, i.e. durable: a reader of the verdict finds every machine's event before it. A
machine event whose publish failed is published again (same `Nats-Msg-Id`: the bus keeps one)
before the verdict; when that fails too, the error goes up and the roll-out's message is
delivered again, so no event is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from showcase_common.bus import EventPublisher
from showcase_common.events import (
    CanaryStarted,
    Event,
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


@dataclass(frozen=True)
class _Sent:
    """A machine event on its way: its publish runs while the roll-out goes on."""

    event: Event
    msg_id: str
    publish: asyncio.Task[object]


class Report:
    """Publishes the per-machine and the fleet events of one roll-out."""

    def __init__(self, publisher: EventPublisher, p: Plan, *, total: int) -> None:
        self._publisher = publisher
        self._plan = p
        self._total = total
        self._done = 0
        self._sent: list[_Sent] = []

    async def machine_finished(self, result: MachineResult, *, canary: bool = False) -> None:
        """Send the machine's event; its acknowledgement is awaited by the fleet's verdict.

        No await before the publish starts: `done` is counted and the publishes are started in
        the order machines finish, and one connection hands them to the bus in that order."""
        self._done += 1
        event, msg_id = self._machine_event(result, self._done, canary=canary)
        self._sent.append(_Sent(event, msg_id, asyncio.create_task(self._publish(event, msg_id))))

    async def durable(self) -> None:
        """Return once every machine event sent so far is acknowledged by the bus; one whose
        publish failed is published again (de-duplicated by its id), and a second failure
        raises (the roll-out's message is then delivered again: nothing is lost)."""
        sent, self._sent = self._sent, []
        outcomes = await asyncio.gather(*(s.publish for s in sent), return_exceptions=True)
        for s, outcome in zip(sent, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.warning("publishing %s failed (%s): publishing it again", s.msg_id, outcome)
                await self._publish(s.event, s.msg_id)

    def abandon(self) -> None:
        """The roll-out stopped before its verdict (the updater stopping, an error): the
        events still on their way are dropped here; the roll-out's message is delivered again
        and publishes them anew (same ids)."""
        for s in self._sent:
            s.publish.cancel()
        self._sent = []

    async def _publish(self, event: Event, msg_id: str) -> object:
        return await self._publisher.publish(event, msg_id=msg_id)

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
        await self.durable()
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

    def _machine_event(
        self, result: MachineResult, done: int, *, canary: bool
    ) -> tuple[Event, str]:
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
            return event, self._id("machine", m.id)
        log.warning("machine %s (%s) failed: %s", m.id, m.region, result.error)
        failed = MachineUpdateFailed(
            **common, reason=result.reason, error=result.error or "unknown error"
        )
        return failed, self._id("machine-failed", m.id)

    async def fleet_finished(
        self, results: Sequence[MachineResult], skipped: list[str], duration_s: float
    ) -> None:
        """The verdict, once every machine event is durable (`durable`)."""
        await self.durable()
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
