"""A syncer against the real NATS server and S3 endpoint, and what it published: shared by the
syncer's integration tests and bench/syncer_snapshot.py."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from showcase_common import events, subjects
from showcase_common.bus import Publisher, connect, ensure_kv, ensure_stream
from showcase_common.snapshots import S3SnapshotStore
from syncer.bootstrap import Syncer, SyncerPorts, make_syncer
from syncer.config import SyncerSettings
from syncer.ledger import KvLedger
from syncer.snapshot import Snapshotter

from tests.integration.syncer.indexdb import add_showcase


class Watch:
    """Every event published on the pipeline's subjects, in order (a core subscription)."""

    def __init__(self) -> None:
        self.seen: list[events.Event] = []

    async def start(self, nc: Client) -> Watch:
        async def on_msg(msg: Msg) -> None:
            self.seen.append(events.decode(msg.subject, msg.data))

        await nc.subscribe(subjects.ALL_SUBJECTS, cb=on_msg)
        return self

    def of(self, kind: type[events.Event]) -> list[Any]:
        return [e for e in self.seen if isinstance(e, kind)]

    def covered(self) -> set[str]:
        return {r.request_id for e in self.of(events.IndexSynced) for r in e.requests}

    def failed(self) -> set[str]:
        return {r.request_id for e in self.of(events.IndexSyncFailed) for r in e.requests}


@asynccontextmanager
async def running_syncer(
    settings: SyncerSettings,
    *,
    durable: str = subjects.SYNCER_DURABLE,
    store: S3SnapshotStore | None = None,
) -> AsyncIterator[Syncer]:
    """A syncer on its own NATS connection, consuming until the block ends."""
    client = await connect(settings.nats_url, "syncer")
    js = client.jetstream()
    await ensure_stream(js)
    ledger = KvLedger(await ensure_kv(js, subjects.SYNC_LEDGER_BUCKET))
    ports = SyncerPorts(
        store=store or S3SnapshotStore.from_settings(settings),
        publisher=Publisher(js),
        ledger=ledger,
        snapshotter=Snapshotter(settings.index_db_path),
    )
    syncer = make_syncer(settings, ports)
    consumer = dataclasses.replace(syncer.consumer(), durable=durable)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(js, stop))
    try:
        yield syncer
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await client.close()


def new_request(index_db: Path, n: int) -> events.ShowcaseCreated:
    """Commit a showcase as intake would, and the event intake would emit for it."""
    showcase_id = add_showcase(index_db)
    showcase = events.ShowcaseRef(
        showcase_id=showcase_id,
        year=2026,
        location_key="studio-1",
        key=f"new-{showcase_id}",
        name=f"New Showcase {showcase_id}",
    )
    ref = events.RequestRef(
        request_id=f"req-{n}", user="studio", showcase=showcase, redirect_url="http://fleet/"
    )
    return events.ShowcaseCreated(request=ref)
