"""The composition root: builds the syncer from settings and the collaborators it is given.

Nothing here connects: `__main__` passes a connected publisher and ledger, tests pass fakes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nats.js.client import JetStreamContext
from showcase_common import subjects
from showcase_common.backoff import Sleep
from showcase_common.bus import Backoff, Consumer, ConsumerOptions, Publisher
from showcase_common.events import Snapshot
from showcase_common.snapshots import SnapshotStore

from syncer.config import SyncerSettings
from syncer.first_generation import publish_first_generation
from syncer.handlers import SyncHandler
from syncer.ledger import SyncLedger
from syncer.retention import Retention, RetentionPolicy
from syncer.snapshot import Snapshotter
from syncer.storage import GenerationWriter, RetryPolicy

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


def bootstrap(
    settings: SyncerSettings,
    *,
    store: SnapshotStore,
    publisher: Publisher,
    ledger: SyncLedger,
    snapshotter: Snapshotter | None = None,
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
        sleep=sleep,
    )
    handler = SyncHandler(
        writer=writer,
        publisher=publisher,
        ledger=ledger,
        max_deliver=settings.syncer_max_deliver,
        retention=Retention(store, retention_policy(settings)),
        clock=clock,
    )
    return Syncer(settings, store, writer, handler)
