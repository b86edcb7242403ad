"""S3's `db/index.sqlite3` that the pipeline did not write (the Rails application's, with no
generation metadata) is never overwritten as if it were generation 0 — unless the syncer is told
to adopt it (SYNCER_ADOPT_LEGACY_INDEX)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.unit.syncer.conftest import World, make_world

RAILS_COPY = b"SQLite format 3\0 the Rails application's own index"


async def test_a_foreign_legacy_copy_is_left_alone_and_the_generation_still_published(
    world: World,
) -> None:
    world.store.place_foreign_legacy(RAILS_COPY)

    snapshot = await world.syncer.publish_first_generation(asyncio.Event())

    assert snapshot is not None and world.store.pointer == snapshot  # the pipeline's own keys
    assert world.store.objects[world.store.legacy_key] == RAILS_COPY  # not a byte changed
    assert world.store.legacy_generation is None


async def test_adopting_replaces_it_once_told_to(tmp_path: Path) -> None:
    world = make_world(tmp_path, syncer_adopt_legacy_index=True)
    world.store.place_foreign_legacy(RAILS_COPY)

    snapshot = await world.syncer.publish_first_generation(asyncio.Event())

    assert snapshot is not None
    assert world.store.objects[world.store.legacy_key] != RAILS_COPY
    assert world.store.legacy_generation == snapshot.generation
