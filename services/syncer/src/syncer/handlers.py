"""What the syncer does with a batch of events: one snapshot covers every pending request.

- `ShowcaseCreated` whose request the ledger already covers → nothing (a redelivery or a replay);
- `ShowcaseCreated`, `RetryRequested(from_step="sync")`, `RolloutRequested` → one new generation
  for the whole batch, then ONE `IndexSynced` naming every covered request;
- `RetryRequested(from_step="machines")`, which only events written before
  `MachinesRetryRequested` existed say → forwarded as `MachinesRetryRequested` (the updater acts
  on machines-only retries; nothing is synced, so no `IndexSynced`);
- the object store down past the retry budget → `IndexSyncFailed` naming the requests, and ack;
- before each snapshot, the Rails job's own steps when configured (`preparation.py`), each
  announced as `IndexPreparing`; a required one failing → `IndexSyncFailed` (`command_failed`),
  as the Rails job stops there (the studio's Retry runs them again).

Failures carry a reason code and the technical detail; the studio's words are the progress
projection's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from showcase_common import events
from showcase_common.bus import Delivery, EventPublisher, RetryableError

from syncer import metrics
from syncer.ledger import SyncLedger
from syncer.preparation import Preparation, PreparationFailed
from syncer.retention import Retention
from syncer.snapshot import SnapshotError
from syncer.storage import GenerationWriter, OnRetry, RaceLost, StorageUnavailable

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """A batch sorted by what it needs."""

    pending: dict[str, events.RequestRef] = field(default_factory=dict)
    rollout: bool = False
    legacy_machine_retries: list[events.RetryRequested] = field(default_factory=list)
    """Old `RetryRequested(from_step="machines")`: forwarded to the updater."""

    @property
    def needs_snapshot(self) -> bool:
        return bool(self.pending) or self.rollout


class SyncHandler:
    def __init__(
        self,
        *,
        writer: GenerationWriter,
        publisher: EventPublisher,
        ledger: SyncLedger,
        max_deliver: int,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.monotonic,
        preparation: Preparation | None = None,
    ) -> None:
        self.preparation = preparation
        self.writer = writer
        self.retention = retention
        self.publisher = publisher
        self.ledger = ledger
        self.max_deliver = max_deliver
        self.clock = clock

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        plan = await self._plan(deliveries)
        final = max(d.attempt for d in deliveries) >= self.max_deliver
        for retry in plan.legacy_machine_retries:
            await self._forward(retry)
        if plan.needs_snapshot:
            await self._sync(plan, deliveries, final=final)

    async def _plan(self, deliveries: Sequence[Delivery]) -> Plan:
        plan = Plan()
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, events.ShowcaseCreated):
                request = event.request
                covered = await self.ledger.generation_of(request.request_id)
                if covered is not None:
                    log.info(
                        "request %s already covered by generation %d", request.request_id, covered
                    )
                    continue
                plan.pending.setdefault(request.request_id, request)
            elif isinstance(event, events.RetryRequested) and event.from_step == "sync":
                plan.pending.setdefault(event.request.request_id, event.request)
            elif isinstance(event, events.RetryRequested):
                plan.legacy_machine_retries.append(event)
            elif isinstance(event, events.RolloutRequested):
                plan.rollout = True
            else:
                log.warning("ignoring %s", type(event).__name__)
        return plan

    async def _sync(self, plan: Plan, deliveries: Sequence[Delivery], *, final: bool) -> None:
        requests = list(plan.pending.values())
        started = self.clock()
        if not await self._prepared(requests, deliveries):
            return
        try:
            published = await self.writer.publish(self._on_retry(deliveries, requests))
        except StorageUnavailable as exc:
            metrics.PUBLICATIONS.labels("storage_unavailable").inc()
            log.error(
                "giving up on %d request(s): object store unavailable (%s)", len(requests), exc
            )
            await self._fail(requests, "storage_unavailable", str(exc))
            return
        except (SnapshotError, RaceLost) as exc:
            kind = "race_lost" if isinstance(exc, RaceLost) else "snapshot_failed"
            metrics.PUBLICATIONS.labels(kind).inc()
            if not final:
                raise RetryableError(str(exc)) from exc
            log.error("giving up on %d request(s): %s", len(requests), exc)
            await self._fail(requests, "snapshot_failed", f"{kind}: {exc}")
            return
        snapshot = published.snapshot
        metrics.PUBLICATIONS.labels("published").inc()
        metrics.PUBLICATION_SECONDS.observe(self.clock() - started)
        metrics.GENERATION.set(snapshot.generation)
        covered = [r for r in requests if r.showcase.showcase_id in published.showcase_ids]
        missing = [r for r in requests if r.showcase.showcase_id not in published.showcase_ids]
        await self.publisher.publish(
            events.IndexSynced(snapshot=snapshot, requests=covered),
            msg_id=f"synced:{snapshot.generation}",
        )
        metrics.REQUESTS_COVERED.inc(len(covered))
        await self.ledger.record((r.request_id for r in covered), snapshot.generation)
        log.info(
            "generation %d covers %d request(s) in %.2fs",
            snapshot.generation,
            len(covered),
            self.clock() - started,
        )
        if missing:
            await self._not_yet_visible(missing, final=final)
        if self.retention is not None:
            await self.retention.prune()

    async def _prepared(
        self, requests: list[events.RequestRef], deliveries: Sequence[Delivery]
    ) -> bool:
        """The Rails job's steps before a snapshot; False when a required one failed (said)."""
        if self.preparation is None or not self.preparation.commands:
            return True

        async def progress(step: int, steps: int, name: str) -> None:
            log.info("preparing the index: step %d of %d, %s", step, steps, name)
            await asyncio.gather(*(_heartbeat(d) for d in deliveries))
            with contextlib.suppress(Exception):  # progress is best effort; the step is not
                await self.publisher.publish(
                    events.IndexPreparing(requests=requests, step=step, steps=steps, name=name)
                )

        try:
            await self.preparation.run(progress)
        except PreparationFailed as exc:
            metrics.PUBLICATIONS.labels("preparation_failed").inc()
            log.error("no snapshot for %d request(s): %s", len(requests), exc)
            await self._fail(requests, "command_failed", str(exc))
            return False
        return True

    async def publish_first(self) -> events.Snapshot | None:
        """The bucket's first generation, when it holds none yet (None: it already had one).

        Only the S3 part: `announce` tells the updater, separately, so a bus hiccup after the
        upload retries the announcement, not the publication.
        """
        published = await self.writer.publish_if_empty()
        if published is None:
            return None
        metrics.PUBLICATIONS.labels("published").inc()
        metrics.GENERATION.set(published.snapshot.generation)
        return published.snapshot

    async def announce(self, snapshot: events.Snapshot) -> None:
        """`IndexSynced` for no request: the updater rolls it out as `showcasectl apply`'s."""
        await self.publisher.publish(
            events.IndexSynced(snapshot=snapshot, requests=[]),
            msg_id=f"synced:{snapshot.generation}",
        )

    async def _not_yet_visible(self, missing: list[events.RequestRef], *, final: bool) -> None:
        # The event arrived but its showcase is not in the copy: never report it synced by it.
        ids = ", ".join(r.request_id for r in missing)
        if not final:
            raise RetryableError(f"showcases of {ids} are not in the index yet", delay_s=2.0)
        log.error("showcases of %s never appeared in the index", ids)
        await self._fail(missing, "not_in_index", f"showcases of {ids} not in the copy")

    async def _forward(self, retry: events.RetryRequested) -> None:
        # The same Nats-Msg-Id for a redelivery of the same old event: forwarded once.
        forwarded = events.MachinesRetryRequested(
            request=retry.request, machine_ids=retry.machine_ids
        )
        await self.publisher.publish(forwarded, msg_id=f"forwarded:{retry.event_id}")
        log.info("forwarded an old machines retry of %s to the updater", retry.request.request_id)

    async def _fail(
        self, requests: list[events.RequestRef], reason: events.FailureReason, error: str
    ) -> None:
        await self.publisher.publish(
            events.IndexSyncFailed(requests=requests, reason=reason, error=error)
        )

    def _on_retry(
        self, deliveries: Sequence[Delivery], requests: list[events.RequestRef]
    ) -> OnRetry:
        async def on_retry(attempt: int, max_attempts: int, exc: BaseException) -> None:
            log.warning(
                "object store unavailable, retrying (%d of %d): %s", attempt, max_attempts, exc
            )
            await asyncio.gather(*(_heartbeat(d) for d in deliveries))
            with contextlib.suppress(Exception):  # progress is best effort; the retry is not
                await self.publisher.publish(
                    events.IndexSyncRetrying(
                        requests=requests,
                        attempt=attempt,
                        max_attempts=max_attempts,
                        reason="storage_unavailable",
                        error=str(exc),
                    )
                )

        return on_retry


async def _heartbeat(delivery: Delivery) -> None:
    with contextlib.suppress(Exception):
        await delivery.in_progress()
