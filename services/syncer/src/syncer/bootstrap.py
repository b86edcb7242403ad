"""The composition root: `ports` makes the syncer's real collaborators (nothing connects: the
runner opens NATS), `build` turns the ports it is given into the `Service` the runner serves;
unit tests call `build` with `FakeSyncerPorts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from showcase_common import subjects
from showcase_common.backoff import RetryPolicy, Sleep
from showcase_common.bus import Backoff, ConsumerSpec, EventPublisher, Publisher, consumer_options
from showcase_common.events import RetryRequested, RolloutRequested, ShowcaseCreated, Snapshot
from showcase_common.runner import Ports, Service, nats_link
from showcase_common.signing import SnapshotSigner
from showcase_common.snapshots import S3SnapshotStore, SnapshotStore, SnapshotStoreError

from syncer.config import SyncerSettings
from syncer.first_generation import publish_first_generation
from syncer.handlers import SyncHandler
from syncer.ledger import KvLedger, SyncLedger
from syncer.preparation import Preparation
from syncer.retention import Retention, RetentionPolicy
from syncer.snapshot import SnapshotTaker, Snapshotter
from syncer.storage import GenerationWriter, StagingDir

log = logging.getLogger("syncer")


@dataclass(kw_only=True)
class SyncerPorts(Ports):
    """What the syncer talks to; `ports` makes the real ones, tests pass `FakeSyncerPorts`."""

    store: SnapshotStore
    publisher: EventPublisher
    ledger: SyncLedger
    snapshotter: SnapshotTaker
    sleep: Sleep = field(default=asyncio.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)


def ports(settings: SyncerSettings) -> SyncerPorts:
    """S3, the index and NATS from settings; nothing connects here (the runner opens the link)."""
    link = nats_link(settings, buckets=[subjects.SYNC_LEDGER_BUCKET])
    return SyncerPorts(
        store=S3SnapshotStore.from_settings(
            settings, signer=SnapshotSigner.from_base64(settings.signing_key)
        ),
        publisher=Publisher(link.jetstream),
        ledger=KvLedger(lambda: link.kv(subjects.SYNC_LEDGER_BUCKET)),
        snapshotter=Snapshotter(settings.index_db_path),
        nats=link,
    )


@dataclass
class Syncer:
    """The syncer's parts, as `build` wires them (tests reach them through `Service.consumers`
    and `Service.on_nats`)."""

    settings: SyncerSettings
    store: SnapshotStore
    writer: GenerationWriter
    handler: SyncHandler

    def consumer(self) -> ConsumerSpec:
        """One batch consumer: every event of a fetch is covered by one snapshot (heartbeats
        cover the S3 retry budget)."""
        batch = self.handler.handle_batch
        return ConsumerSpec(
            subjects.SYNCER_DURABLE,
            handles_batches={
                ShowcaseCreated: batch,
                RetryRequested: batch,
                RolloutRequested: batch,
            },
            options=consumer_options(
                self.settings.consumer, backoff=Backoff(base_s=1.0, cap_s=60.0)
            ),
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
        jitter_s=settings.syncer_s3_backoff_initial_s,
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


def make_syncer(settings: SyncerSettings, ports: SyncerPorts) -> Syncer:
    staging = StagingDir(settings.syncer_work_dir)
    writer = GenerationWriter(
        ports.store,
        ports.snapshotter,
        staging,
        retry_policy(settings),
        max_conflicts=settings.syncer_max_pointer_conflicts,
        adopt_legacy=settings.syncer_adopt_legacy_index,
        sleep=ports.sleep,
    )
    handler = SyncHandler(
        writer=writer,
        publisher=ports.publisher,
        ledger=ports.ledger,
        max_deliver=settings.consumer.max_deliver,
        retention=Retention(ports.store, retention_policy(settings)),
        clock=ports.clock,
        preparation=preparation(settings),
    )
    return Syncer(settings, ports.store, writer, handler)


def build(settings: SyncerSettings, ports: SyncerPorts) -> Service:
    """The syncer as the runner runs it: health on SYNCER_PORT; once NATS is up, the first
    generation and the consumer."""
    syncer = make_syncer(settings, ports)
    store, link = ports.store, ports.nats

    async def s3() -> None:
        await asyncio.to_thread(store.check_bucket)

    async def create_bucket(_stop: asyncio.Event) -> None:
        if settings.syncer_create_bucket:
            with contextlib.suppress(SnapshotStoreError):  # /readyz will say why
                await asyncio.to_thread(store.ensure_bucket)

    async def first_generation(stop: asyncio.Event) -> None:
        log.info("syncing %s to s3://%s", settings.index_db_path, settings.s3_bucket)
        await syncer.publish_first_generation(stop)

    checks = {"nats": link.check, "s3": s3} if link is not None else {"s3": s3}
    return Service(
        name="syncer",
        listen_host=settings.syncer_host,
        listen_port=settings.syncer_port,
        checks=checks,
        prepare=[syncer.writer.staging.make],
        workers=[create_bucket],
        consumers=[syncer.consumer()],
        on_nats=[first_generation],
    )


USAGE = """usage: python -m syncer [keygen]

  python -m syncer         snapshot the index to S3 on every ShowcaseCreated/RetryRequested/
                           RolloutRequested, health and metrics on SYNCER_PORT
  python -m syncer keygen  print a new Ed25519 key pair for the snapshots in S3 (no setting read)"""

KEYGEN_HELP = """\
A new Ed25519 key pair for the snapshots in S3:
  SNAPSHOT_SIGNING_KEY  the syncer's secret: it signs every generation and pointer
                        (e.g. `fly secrets set -a <syncer app> SNAPSHOT_SIGNING_KEY=…`)
  SNAPSHOT_VERIFY_KEY   public: every agent's, to verify them (not a secret)
"""


def keygen() -> None:
    """`python -m syncer keygen`: a new signing key pair, on stdout (the help on stderr)."""
    from showcase_common.signing import generate_key_pair

    private, public = generate_key_pair()
    print(KEYGEN_HELP, file=sys.stderr)
    print(f"SNAPSHOT_SIGNING_KEY={private}")
    print(f"SNAPSHOT_VERIFY_KEY={public}")
