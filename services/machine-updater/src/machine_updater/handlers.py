"""IndexSynced → roll the snapshot out to the fleet, reporting each machine as it finishes;
MachinesRetryRequested → roll the newest announced snapshot out again to a request's machines.

Coalescing: the IndexSynced events of one fetch become one roll-out of the newest snapshot for
all their requests (a newer snapshot was taken later, so it holds every older showcase), and
before each machine the newest announced snapshot is looked up again, so a generation that
arrives mid-roll-out supersedes the one in flight. An older event arriving after a newer one
finds every machine already at or past its generation: no update call, only the truth check.
A machines-only retry needs no sync (the newest snapshot is on the stream already); when none was
ever announced there is nothing to roll out again, and the retry goes to the syncer as a sync.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence

from showcase_common.bus import Delivery, EventPublisher, RetryableError
from showcase_common.events import (
    IndexSynced,
    MachinesRetryRequested,
    RetryRequested,
    RollbackRequested,
    Snapshot,
)

from machine_updater import canary as canaries
from machine_updater import metrics, rollback
from machine_updater.canary import CanaryPolicy
from machine_updater.client import MachineClient
from machine_updater.fleet import Fleet, FleetError, Machine
from machine_updater.hold import RolloutHold
from machine_updater.newest_snapshot import NewestSnapshot, SharedLookups
from machine_updater.plan import Ask, Plan, plan
from machine_updater.report import Report
from machine_updater.rollout import (
    MachinePace,
    MachinePolicy,
    MachineResult,
    update_all,
    update_machine,
)

log = logging.getLogger(__name__)


class RolloutHandler:
    def __init__(
        self,
        fleet: Fleet,
        client: MachineClient,
        publisher: EventPublisher,
        newest_snapshot: NewestSnapshot,
        *,
        policy: MachinePolicy,
        concurrency: int,
        hold: RolloutHold | None = None,
        canary: CanaryPolicy | None = None,
    ) -> None:
        self._fleet = fleet
        self._client = client
        self._publisher = publisher
        self._newest_snapshot = SharedLookups(newest_snapshot)
        self._policy = policy
        self._concurrency = concurrency
        self._hold = hold
        self._canary = canary or CanaryPolicy(enabled=False)
        self.pace = MachinePace()
        """Each machine's last call: the slowest are called first (`MachinePace`)."""

    @property
    def stopping(self) -> asyncio.Event | None:
        return None if self._hold is None else self._hold.stopping

    @stopping.setter
    def stopping(self, stop: asyncio.Event) -> None:
        """The updater's stop: a roll-out held by a pause is handed back when it is set."""
        if self._hold is not None:
            self._hold.stopping = stop

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        """The consumer loop's batch handler."""
        await self.handle([d.event for d in deliveries])

    async def handle(self, batch: Sequence[object]) -> None:
        """Roll-outs in stream order: the events between two rollbacks are one roll-out."""
        run: list[object] = []
        for event in batch:
            if isinstance(event, RollbackRequested):
                await self._roll_out_run(run)
                run = []
                await self.roll_back(event)
            else:
                run.append(event)
        await self._roll_out_run(run)

    async def _roll_out_run(self, batch: Sequence[object]) -> None:
        asks = [Ask.synced(e) for e in batch if isinstance(e, IndexSynced)]
        retries = [e for e in batch if isinstance(e, MachinesRetryRequested)]
        if retries:
            asks += await self._retry_asks(retries)
        if asks:
            await self.roll_out(plan(asks))

    async def roll_back(self, event: RollbackRequested) -> None:
        """Every running machine to exactly the rollback's generation (no canary, no pause)."""
        started = time.monotonic()
        p = rollback.plan_of(event)
        active, skipped = await self._select(p)
        log.warning(
            "rollback to generation %d by %s (%s) on %d machine(s)",
            p.generation,
            event.actor,
            event.reason or "no reason given",
            len(active),
        )
        report = Report(self._publisher, p, total=len(active))

        async def one(machine: Machine) -> MachineResult:
            result = await rollback.roll_back_machine(self._client, machine, event, self._policy)
            metrics.machine_finished(
                machine.region, result.outcome, result.duration_s, result.attempts
            )
            self.pace.learn(result)
            return result

        try:
            results = await update_all(
                self.pace.slowest_first(active),
                one,
                concurrency=self._concurrency,
                on_result=report.machine_finished,
            )
            duration_s = time.monotonic() - started
            await report.fleet_finished(results, skipped, duration_s)
        finally:
            report.abandon()  # only what an error or a stop left on its way
        metrics.rollout_finished(all(r.ok for r in results), duration_s)

    async def _retry_asks(self, retries: Sequence[MachinesRetryRequested]) -> list[Ask]:
        newest = await self._newest_snapshot.newest()
        if newest is not None:
            return [Ask.retry(r, newest) for r in retries]
        for retry in retries:  # nothing announced yet (or aged out of the stream): sync first
            log.warning(
                "no snapshot announced: retry of %s goes to a sync", retry.request.request_id
            )
            sync = RetryRequested(request=retry.request, from_step="sync")
            await self._publisher.publish(sync, msg_id=f"retry-sync:{retry.event_id}")
        return []

    async def roll_out(self, p: Plan) -> None:
        if self._hold is not None:
            await self._hold.wait(p)  # paused by the operators: no machine is called
        started = time.monotonic()
        active, skipped = await self._select(p)
        log.info(
            "rolling out generation %d to %d machine(s) for %d request(s); skipped: %s",
            p.generation,
            len(active),
            len(p.requests),
            skipped or "none",
        )
        report = Report(self._publisher, p, total=len(active))
        try:
            results = await self._roll_out_machines(p, active, skipped, report, started)
        finally:
            report.abandon()  # only what an error or a stop left on its way
        if results is not None:
            metrics.rollout_finished(all(r.ok for r in results), time.monotonic() - started)

    async def _roll_out_machines(
        self, p: Plan, active: list[Machine], skipped: list[str], report: Report, started: float
    ) -> list[MachineResult] | None:
        """The canary (when there is one), then the rest, then the verdict; None when the
        canary halted the roll-out."""
        canary, rest = canaries.split(active, self._canary)
        results = []
        if canary is not None:
            first = await self._canary_first(canary, rest, p, report)
            if not first.ok:
                metrics.rollout_finished(False, time.monotonic() - started)
                return None
            results.append(first)
        results += await update_all(
            self.pace.slowest_first(rest),
            lambda m: self._update(m, p),
            concurrency=self._concurrency,
            on_result=report.machine_finished,
        )
        await report.fleet_finished(results, skipped, time.monotonic() - started)
        return results

    async def _canary_first(
        self, canary: Machine, rest: list[Machine], p: Plan, report: Report
    ) -> MachineResult:
        """Update the canary alone; when it fails, halt with the rest untouched."""
        await report.canary_started(canary)
        result = await self._update(canary, p, canary=True)
        await report.machine_finished(result, canary=True)
        if not result.ok:
            log.warning(
                "canary %s failed: roll-out of generation %d halted, %d machine(s) untouched",
                canary.id,
                p.generation,
                len(rest),
            )
            await report.canary_failed(result, [m.id for m in rest])
        return result

    async def _select(self, p: Plan) -> tuple[list[Machine], list[str]]:
        try:
            fleet = await self._fleet.machines()
        except FleetError as exc:
            metrics.ROLLOUTS.labels("fleet_unavailable").inc()
            raise RetryableError(str(exc)) from exc
        metrics.fleet_listed(sum(m.active for m in fleet), len(fleet))
        chosen = [m for m in fleet if p.machine_ids is None or m.id in p.machine_ids]
        for machine in chosen:
            if not machine.active:
                log.info("machine %s is %s: will catch up on boot", machine.id, machine.state)
        unknown = sorted((p.machine_ids or frozenset()) - {m.id for m in fleet})
        if unknown:
            log.warning("machines %s are no longer in the fleet", unknown)
        skipped = [m.id for m in chosen if not m.active] + unknown
        return [m for m in chosen if m.active], skipped

    async def _update(self, machine: Machine, p: Plan, *, canary: bool = False) -> MachineResult:
        async def target() -> Snapshot:
            newest = await self._newest_snapshot.newest()
            if newest is not None and newest.generation > p.generation:
                return newest  # a newer generation supersedes this one; it covers our requests
            return p.snapshot

        if self._hold is not None:
            await self._hold.wait(p)  # a pause during the roll-out holds the machines not begun
        result = await update_machine(
            self._client,
            machine,
            target=target,
            required=p.generation,
            pages=p.pages,
            # the canary's pages are asked from outside, whatever it reports: its verdict is
            # what lets the rest of the fleet follow
            policy=dataclasses.replace(self._policy, trust_reported_pages=False)
            if canary
            else self._policy,
            showcase_ids=p.showcase_ids,
        )
        metrics.machine_finished(machine.region, result.outcome, result.duration_s, result.attempts)
        self.pace.learn(result)
        return result
