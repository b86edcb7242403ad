"""The syncer on the real NATS server and the real S3 endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client
from showcase_common import events, subjects
from showcase_common.bus import Publisher
from showcase_common.snapshots import S3SnapshotStore
from syncer.config import SyncerConsumerSettings, SyncerSettings

from tests.integration.syncer.conftest import Watch, new_request, running_syncer
from tests.support.waiting import eventually

MakeSettings = Callable[..., SyncerSettings]
ROLLOUTS = 6


async def _settled(nc: Client, durable: str = subjects.SYNCER_DURABLE) -> bool:
    info = await nc.jetstream().consumer_info(subjects.STREAM, durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_a_burst_is_coalesced_and_every_request_synced(
    nc: Client, make_settings: MakeSettings, index_db: Path
) -> None:
    watch = await Watch().start(nc)
    settings = make_settings()
    burst = [new_request(index_db, n) for n in range(30)]
    async with running_syncer(settings):
        publisher = Publisher(nc.jetstream())
        await asyncio.gather(*(publisher.publish(e) for e in burst))
        await eventually(lambda: len(watch.covered()) == 30, what="30 requests covered")

    synced = watch.of(events.IndexSynced)
    generations = [e.snapshot.generation for e in synced]
    assert len(generations) <= 5, f"{len(generations)} uploads for a burst of 30"
    assert generations == sorted(set(generations))
    store = S3SnapshotStore.from_settings(settings)
    latest, _ = store.latest()
    assert latest is not None and latest.generation == generations[-1]


async def test_a_duplicate_delivery_uploads_nothing(
    nc: Client, make_settings: MakeSettings, index_db: Path
) -> None:
    watch = await Watch().start(nc)
    settings = make_settings()
    created = new_request(index_db, 1)
    publisher = Publisher(nc.jetstream())
    async with running_syncer(settings):
        await publisher.publish(created)
        await eventually(lambda: watch.covered() == {"req-1"}, what="the first sync")
        await publisher.publish(created, msg_id="replayed")  # a replay: a new stream message
        await eventually(lambda: len(watch.of(events.ShowcaseCreated)) == 2)
        await until_settled(nc)

    assert [e.snapshot.generation for e in watch.of(events.IndexSynced)] == [1]
    latest, _ = S3SnapshotStore.from_settings(settings).latest()
    assert latest is not None and latest.generation == 1


async def until_settled(nc: Client, durable: str = subjects.SYNCER_DURABLE) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while not await _settled(nc, durable):
        assert asyncio.get_running_loop().time() < deadline, "the syncer never settled"
        await asyncio.sleep(0.05)


async def test_two_syncers_racing_never_move_the_pointer_back(
    nc: Client, make_settings: MakeSettings, tmp_path: Path
) -> None:
    # Two durables: both syncers take every rollout, so each one is a real race for the pointer.
    watch = await Watch().start(nc)
    first = make_settings(
        syncer_work_dir=tmp_path / "a", consumer=SyncerConsumerSettings(batch_size=1)
    )
    second = make_settings(
        syncer_work_dir=tmp_path / "b", consumer=SyncerConsumerSettings(batch_size=1)
    )
    store = S3SnapshotStore.from_settings(first)
    seen: list[int] = []
    stop_watching = asyncio.Event()

    async def watch_pointer() -> None:
        while not stop_watching.is_set():
            latest, _ = await asyncio.to_thread(store.latest)
            if latest is not None:
                seen.append(latest.generation)

    watcher = asyncio.create_task(watch_pointer())
    async with (
        running_syncer(first, durable="syncer-a"),
        running_syncer(second, durable="syncer-b"),
    ):
        publisher = Publisher(nc.jetstream())
        for i in range(ROLLOUTS):
            await publisher.publish(events.RolloutRequested(requested_by=f"ops-{i}"))
        await eventually(
            lambda: len(watch.of(events.IndexSynced)) == 2 * ROLLOUTS, what="every publication"
        )
    stop_watching.set()
    await watcher

    generations = [e.snapshot.generation for e in watch.of(events.IndexSynced)]
    assert len(set(generations)) == 2 * ROLLOUTS  # no generation was published twice
    assert seen == sorted(seen)  # the pointer never moved backwards
    latest, _ = store.latest()
    assert latest is not None and latest.generation == max(generations)
    for synced in watch.of(events.IndexSynced):  # every object is the one its event names
        store.download(synced.snapshot, tmp_path / "check.sqlite3")
