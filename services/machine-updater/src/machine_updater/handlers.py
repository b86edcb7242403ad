"""IndexSynced → roll the snapshot out to the fleet, reporting each machine as it finishes.

Coalescing: the IndexSynced events of one fetch become one roll-out of the newest snapshot for
all their requests (a newer snapshot was taken later, so it holds every older showcase), and
before each machine the newest announced snapshot is looked up again, so a generation that
arrives mid-roll-out supersedes the one in flight. An older event arriving after a newer one
finds every machine already at or past its generation: no update call, only the truth check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from showcase_common.bus import Delivery, Publisher, RetryableError
from showcase_common.events import IndexSynced, Snapshot

from machine_updater import metrics
from machine_updater.client import MachineClient
from machine_updater.feed import SnapshotFeed
from machine_updater.fleet import Fleet, FleetError, Machine
from machine_updater.plan import Plan, plan
from machine_updater.report import Report
from machine_updater.rollout import MachineResult, RetryPolicy, update_all, update_machine

log = logging.getLogger(__name__)


class RolloutHandler:
    def __init__(
        self,
        fleet: Fleet,
        client: MachineClient,
        publisher: Publisher,
        feed: SnapshotFeed,
        *,
        policy: RetryPolicy,
        concurrency: int,
    ) -> None:
        self._fleet = fleet
        self._client = client
        self._publisher = publisher
        self._feed = feed
        self._policy = policy
        self._concurrency = concurrency

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        """The consumer loop's batch handler."""
        synced = [d.event for d in deliveries if isinstance(d.event, IndexSynced)]
        if synced:
            await self.handle(synced)

    async def handle(self, synced: Sequence[IndexSynced]) -> None:
        await self.roll_out(plan(synced))

    async def roll_out(self, p: Plan) -> None:
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
        results = await update_all(
            active,
            lambda m: self._update(m, p),
            concurrency=self._concurrency,
            on_result=report.machine_finished,
        )
        duration_s = time.monotonic() - started
        await report.fleet_finished(results, skipped, duration_s)
        metrics.rollout_finished(all(r.ok for r in results), duration_s)

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

    async def _update(self, machine: Machine, p: Plan) -> MachineResult:
        async def target() -> Snapshot:
            newest = await self._feed.newest()
            if newest is not None and newest.generation > p.generation:
                return newest  # a newer generation supersedes this one; it covers our requests
            return p.snapshot

        result = await update_machine(
            self._client,
            machine,
            target=target,
            required=p.generation,
            paths=p.paths,
            policy=self._policy,
            showcase_ids=p.showcase_ids,
        )
        metrics.machine_finished(machine.region, result.outcome, result.duration_s, result.attempts)
        return result
