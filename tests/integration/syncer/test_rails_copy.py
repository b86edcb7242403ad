"""What the bucket holds is the Rails index: `db/index.sqlite3` and every generation object."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client
from showcase_common import events
from showcase_common.bus import Publisher
from showcase_common.index import PIPELINE_PREFIX, table_definitions, table_names
from showcase_common.settings import S3Settings
from showcase_common.snapshots import S3SnapshotStore, make_s3_client
from syncer.bootstrap import SyncerPorts, make_syncer
from syncer.config import SyncerSettings
from syncer.ledger import SyncLedger
from syncer.snapshot import Snapshotter

from tests.integration.syncer.conftest import Watch, new_request, running_syncer
from tests.integration.syncer.indexdb import SECRET_PAYLOAD, rows
from tests.support.waiting import eventually

MakeSettings = Callable[..., SyncerSettings]


def _download(store: S3SnapshotStore, key: str, dest: Path, settings: S3Settings) -> Path:
    body = make_s3_client(settings).get_object(Bucket=store.bucket, Key=key)["Body"].read()
    dest.write_bytes(body)
    return dest


def _describe(path: Path) -> tuple[set[str], dict[str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return table_names(db), table_definitions(db)


async def test_the_s3_copy_holds_only_the_rails_tables(
    nc: Client, make_settings: MakeSettings, index_db: Path, tmp_path: Path
) -> None:
    watch = await Watch().start(nc)
    settings = make_settings()
    async with running_syncer(settings) as syncer:
        await Publisher(nc.jetstream()).publish(new_request(index_db, 1))
        await eventually(lambda: watch.covered() == {"req-1"}, what="the sync")
    [synced] = watch.of(events.IndexSynced)

    source_tables, source_definitions = _describe(index_db)
    store = syncer.store
    assert isinstance(store, S3SnapshotStore)
    legacy = _download(store, store.legacy_key, tmp_path / "legacy.sqlite3", settings)
    generation = _download(store, synced.snapshot.object_key, tmp_path / "gen.sqlite3", settings)
    for copy in (legacy, generation):
        tables, definitions = _describe(copy)
        assert tables == {t for t in source_tables if not t.startswith(PIPELINE_PREFIX)}
        assert definitions == source_definitions  # the Rails tables' SQL, byte for byte
        assert rows(copy, "showcases") == rows(index_db, "showcases")
        assert SECRET_PAYLOAD.encode() not in copy.read_bytes()
    assert legacy.read_bytes() == generation.read_bytes()


class _NoLedger(SyncLedger):
    async def generation_of(self, request_id: str) -> int | None:
        return None

    async def record(self, request_ids: object, generation: int) -> None:
        return None


async def test_replicas_starting_on_an_empty_bucket_publish_one_generation(
    nc: Client, make_settings: MakeSettings, tmp_path: Path
) -> None:
    watch = await Watch().start(nc)
    settings = make_settings()
    store = S3SnapshotStore.from_settings(settings)
    replicas = [
        make_syncer(
            settings.model_copy(update={"syncer_work_dir": tmp_path / f"staging-{i}"}),
            SyncerPorts(
                store=store,
                publisher=Publisher(nc.jetstream()),
                ledger=_NoLedger(),
                snapshotter=Snapshotter(settings.index_db_path),
            ),
        )
        for i in range(3)
    ]
    stop = asyncio.Event()
    firsts = await asyncio.gather(*(r.publish_first_generation(stop) for r in replicas))

    published = [s for s in firsts if s is not None]
    assert len(published) == 1  # one winner; the others found the pointer set
    assert store.latest()[0] == published[0]
    # (a loser may leave an unreferenced generation object behind: retention collects it)
    assert published[0].generation in [g.generation for g in store.list_generations()]
    await eventually(lambda: bool(watch.of(events.IndexSynced)), what="the announcement")
    assert [e.snapshot for e in watch.of(events.IndexSynced)] == published
    legacy = _download(store, store.legacy_key, tmp_path / "legacy.sqlite3", settings)
    tables, _ = _describe(legacy)
    assert "showcases" in tables and not [t for t in tables if t.startswith(PIPELINE_PREFIX)]
