"""IndexSynced → roll the snapshot out to the fleet, reporting each machine as it finishes.

Coalescing: the IndexSynced events of one fetch become one roll-out of the newest snapshot for
all their requests (a newer snapshot was taken later, so it holds every older showcase), and
before each machine the newest announced snapshot is looked up again, so a generation that
arrives mid-roll-out supersedes the one in flight. An older event arriving after a newer one
finds every machine already at or past its generation: no update call, only the truth check.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from showcase_common.bus import Delivery, Publisher, RetryableError
from showcase_common.events import (
    FleetUpdated,
    FleetUpdateFailed,
    IndexSynced,
    MachineFailure,
    MachineUpdated,
    MachineUpdateFailed,
    RequestRef,
    Snapshot,
)

from machine_updater.client import MachineClient
from machine_updater.feed import SnapshotFeed
from machine_updater.fleet import Fleet, FleetError, Machine
from machine_updater.rollout import MachineResult, RetryPolicy, update_all, update_machine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """One roll-out: the newest snapshot of a batch, for every request the batch covers."""

    snapshot: Snapshot
    requests: tuple[RequestRef, ...]
    machine_ids: frozenset[str] | None
    """None: the whole fleet; otherwise only these machines (a retry)."""
    rollout_id: str
    """Derived from the events, so a redelivered batch publishes the same msg ids."""

    @property
    def generation(self) -> int:
        return self.snapshot.generation

    @property
    def paths(self) -> list[str]:
        return sorted({r.showcase.path for r in self.requests})


def plan(synced: Sequence[IndexSynced]) -> Plan:
    newest = max(synced, key=lambda e: e.snapshot.generation)
    requests = {r.request_id: r for e in synced for r in e.requests}
    targeted = all(e.machine_ids for e in synced)
    ids = frozenset(m for e in synced for m in e.machine_ids) if targeted else None
    return Plan(newest.snapshot, tuple(requests.values()), ids, _rollout_id(synced))


def _rollout_id(synced: Sequence[IndexSynced]) -> str:
    """The event's id, or a digest of the batch's ids: the same batch gives the same msg ids."""
    if len(synced) == 1:
        return synced[0].event_id
    joined = "|".join(sorted(e.event_id for e in synced))
    return "batch-" + hashlib.sha256(joined.encode()).hexdigest()[:16]


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
        report = _Report(self._publisher, p, total=len(active))
        results = await update_all(
            active,
            lambda m: self._update(m, p),
            concurrency=self._concurrency,
            on_result=report.machine_finished,
        )
        await report.fleet_finished(results, skipped, time.monotonic() - started)

    async def _select(self, p: Plan) -> tuple[list[Machine], list[str]]:
        try:
            fleet = await self._fleet.machines()
        except FleetError as exc:
            raise RetryableError(str(exc)) from exc
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

        return await update_machine(
            self._client,
            machine,
            target=target,
            required=p.generation,
            paths=p.paths,
            policy=self._policy,
        )


class _Report:
    """Publishes the per-machine and the fleet events of one roll-out."""

    def __init__(self, publisher: Publisher, p: Plan, *, total: int) -> None:
        self._publisher = publisher
        self._plan = p
        self._total = total
        self._done = 0
        self._lock = asyncio.Lock()  # `done` goes out in the order machines finish

    async def machine_finished(self, result: MachineResult) -> None:
        async with self._lock:
            self._done += 1
            await self._publish_machine(result, self._done)

    async def _publish_machine(self, result: MachineResult, done: int) -> None:
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
            log.info("machine %s (%s) serves generation %s", m.id, m.region, result.generation)
            event = MachineUpdated(**common, duration_s=round(result.duration_s, 3))
            await self._publisher.publish(event, msg_id=self._id("machine", m.id))
        else:
            log.warning("machine %s (%s) failed: %s", m.id, m.region, result.error)
            failed = MachineUpdateFailed(**common, error=result.error or "unknown error")
            await self._publisher.publish(failed, msg_id=self._id("machine-failed", m.id))

    async def fleet_finished(
        self, results: Sequence[MachineResult], skipped: list[str], duration_s: float
    ) -> None:
        p = self._plan
        updated = sorted(r.machine.id for r in results if r.ok)
        failures = [
            MachineFailure(machine_id=r.machine.id, region=r.machine.region, error=r.error or "")
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
