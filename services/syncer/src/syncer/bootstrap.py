"""The composition root: builds the syncer from settings and the collaborators it is given.

`ports` makes the real collaborators (nothing connects: the runner opens NATS), `build` turns
them into the `Service` the runner serves; tests call `bootstrap`/`build` with fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nats.js.client import JetStreamContext
from showcase_common import subjects
from showcase_common.backoff import Sleep
from showcase_common.bus import Backoff, Consumer, ConsumerOptions, EventPublisher, Publisher
from showcase_common.bus.link import NatsLink
from showcase_common.events import Snapshot
from showcase_common.runner import Service, nats_link
from showcase_common.signing import SnapshotSigner
from showcase_common.snapshots import S3SnapshotStore, SnapshotStore, SnapshotStoreError

from syncer.config import SyncerSettings
from syncer.first_generation import publish_first_generation
from syncer.handlers import SyncHandler
from syncer.ledger import KvLedger, SyncLedger
from syncer.preparation import Preparation
from syncer.retention import Retention, RetentionPolicy
from syncer.snapshot import SnapshotTaker, Snapshotter
from syncer.storage import GenerationWriter, RetryPolicy

log = logging.getLogger("syncer")

SUBJECTS = (subjects.SHOWCASE_CREATED, subjects.RETRY_REQUESTED, subjects.ROLLOUT_REQUESTED)


@dataclass
class Syncer:
    settings: SyncerSettings
    store: SnapshotStore
    writer: GenerationWriter
    handler: SyncHandler

    def consumer(self, js: JetStreamContext, durable: str = subjects.SYNCER_DURABLE) -> Consumer:
        """The batch consumer that feeds `handler` (heartbeats cover the retry budget)."""
        s = self.settings
        options = ConsumerOptions(
            ack_wait_s=s.syncer_ack_wait_s,
            max_deliver=s.syncer_max_deliver,
            batch_size=s.syncer_batch_size,
            fetch_timeout_s=s.syncer_fetch_timeout_s,
            heartbeat_s=max(0.5, s.syncer_ack_wait_s / 4),
            backoff=Backoff(base_s=1.0, cap_s=60.0),
        )
        return Consumer(
            js,
            subjects.STREAM,
            durable,
            SUBJECTS,
            batch_handler=self.handler.handle_batch,
            options=options,
        )

    async def publish_first_generation(self, stop: asyncio.Event) -> Snapshot | None:
        """At start: the bucket's first generation when it has none (`first_generation`)."""
        s = self.settings
        if not s.syncer_publish_on_start:
            return None
        return await publish_first_generation(
            self.handler,
            stop,
            retry_min_s=s.syncer_start_retry_min_s,
            retry_max_s=s.syncer_start_retry_max_s,
        )


def retry_policy(settings: SyncerSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.syncer_s3_attempts,
        budget_s=settings.syncer_s3_budget_s,
        initial_s=settings.syncer_s3_backoff_initial_s,
        max_s=settings.syncer_s3_backoff_max_s,
    )


def retention_policy(settings: SyncerSettings) -> RetentionPolicy:
    return RetentionPolicy(
        keep=settings.syncer_keep_generations,
        min_age=dt.timedelta(seconds=settings.syncer_keep_min_age_s),
    )


def preparation(settings: SyncerSettings) -> Preparation | None:
    """The Rails job's steps before a snapshot, when configured."""
    if not settings.syncer_pre_snapshot_commands:
        return None
    allow = [n.strip() for n in settings.syncer_command_env.split(",") if n.strip()]
    return Preparation(
        settings.syncer_pre_snapshot_commands,
        index_dir=settings.index_db_path.resolve().parent,
        rails_root=settings.syncer_rails_root,
        timeout_s=settings.syncer_command_timeout_s,
        env_allow=allow,
    )


def bootstrap(
    settings: SyncerSettings,
    *,
    store: SnapshotStore,
    publisher: EventPublisher,
    ledger: SyncLedger,
    snapshotter: SnapshotTaker | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Syncer:
    staging = settings.syncer_work_dir or Path(tempfile.mkdtemp(prefix="syncer-"))
    writer = GenerationWriter(
        store,
        snapshotter or Snapshotter(settings.index_db_path),
        staging,
        retry_policy(settings),
        max_conflicts=settings.syncer_max_pointer_conflicts,
        adopt_legacy=settings.syncer_adopt_legacy_index,
        sleep=sleep,
    )
    handler = SyncHandler(
        writer=writer,
        publisher=publisher,
        ledger=ledger,
        max_deliver=settings.syncer_max_deliver,
        retention=Retention(store, retention_policy(settings)),
        clock=clock,
        preparation=preparation(settings),
    )
    return Syncer(settings, store, writer, handler)


@dataclass
class SyncerPorts:
    """What the syncer talks to; `ports` makes the real ones, tests pass fakes."""

    store: SnapshotStore
    publisher: EventPublisher
    ledger: SyncLedger
    nats: NatsLink | None = None


def ports(settings: SyncerSettings) -> SyncerPorts:
    """S3 and NATS from settings; nothing connects here (the runner opens the link)."""
    link = nats_link(settings, buckets=[subjects.SYNC_LEDGER_BUCKET])
    return SyncerPorts(
        store=S3SnapshotStore.from_settings(
            settings, signer=SnapshotSigner.from_base64(settings.signing_key)
        ),
        publisher=Publisher(link.jetstream),
        ledger=KvLedger(lambda: link.kv(subjects.SYNC_LEDGER_BUCKET)),
        nats=link,
    )


def build(settings: SyncerSettings, ports: SyncerPorts) -> Service:
    """The syncer as the runner runs it: health on SYNCER_PORT, the consumer once NATS is up."""
    syncer = bootstrap(settings, store=ports.store, publisher=ports.publisher, ledger=ports.ledger)
    store, link = ports.store, ports.nats

    async def s3() -> None:
        await asyncio.to_thread(store.check_bucket)

    async def create_bucket(_stop: asyncio.Event) -> None:
        if settings.syncer_create_bucket:
            with contextlib.suppress(SnapshotStoreError):  # /readyz will say why
                await asyncio.to_thread(store.ensure_bucket)

    async def consume(stop: asyncio.Event) -> None:
        assert link is not None
        log.info("syncing %s to s3://%s", settings.index_db_path, settings.s3_bucket)
        await asyncio.gather(
            syncer.publish_first_generation(stop), syncer.consumer(link.jetstream()).run(stop)
        )

    checks = {"nats": link.check, "s3": s3} if link is not None else {"s3": s3}
    return Service(
        name="syncer",
        host=settings.syncer_host,
        port=settings.syncer_port,
        checks=checks,
        workers=[create_bucket],
        on_nats=[consume],
    )
