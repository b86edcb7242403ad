"""At start the syncer publishes the bucket's first generation, once, and announces it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from showcase_common import events

from tests.unit.syncer.conftest import World, make_world


async def test_an_empty_bucket_gets_a_generation_and_the_updater_hears_of_it(
    world: World,
) -> None:
    snapshot = await world.syncer.publish_first_generation(asyncio.Event())

    assert snapshot is not None and snapshot == world.store.pointer
    assert world.store.uploads == [1]
    assert world.store.legacy_key in world.store.objects  # db/index.sqlite3 too
    [synced] = world.publisher.of(events.IndexSynced)
    assert (synced.snapshot, synced.requests) == (snapshot, [])
    assert world.publisher.published[-1][1] == "synced:1"


async def test_a_bucket_with_a_generation_is_left_alone(world: World) -> None:
    world.store.force_pointer(
        events.Snapshot(generation=7, object_key="db/generations/7", sha256="0" * 64, size=1)
    )
    assert await world.syncer.publish_first_generation(asyncio.Event()) is None
    assert world.store.uploads == []
    assert world.publisher.published == []


async def test_a_replica_that_loses_the_race_publishes_nothing_more(world: World) -> None:
    # Another syncer's first generation lands between our pointer read and our pointer write.
    other = events.Snapshot(
        generation=1, object_key="db/generations/other", sha256="1" * 64, size=1
    )
    world.store.before_advance.append(lambda: world.store.force_pointer(other))

    assert await world.syncer.publish_first_generation(asyncio.Event()) is None
    assert world.store.pointer == other
    assert world.publisher.published == []  # the winner announces it


async def test_an_orphan_first_generation_object_does_not_block_the_start(world: World) -> None:
    # A syncer died after uploading generation 1 but before moving the pointer.
    world.store.objects[world.store.generation_key(1)] = b"orphan"
    snapshot = await world.syncer.publish_first_generation(asyncio.Event())
    assert snapshot is not None and world.store.pointer is not None
    assert snapshot.generation == 2 == world.store.pointer.generation


async def test_storage_down_at_start_is_waited_out(tmp_path: Path) -> None:
    world = make_world(tmp_path, syncer_start_retry_min_s=0.0, syncer_start_retry_max_s=0.0)
    world.store.outage = 12  # more than two publications' budget of five attempts
    snapshot = await world.syncer.publish_first_generation(asyncio.Event())
    assert snapshot is not None and world.store.pointer == snapshot
    assert len(world.publisher.of(events.IndexSynced)) == 1


async def test_the_setting_turns_it_off(tmp_path: Path) -> None:
    world = make_world(tmp_path, syncer_publish_on_start=False)
    assert await world.syncer.publish_first_generation(asyncio.Event()) is None
    assert world.store.uploads == [] and world.store.pointer is None
