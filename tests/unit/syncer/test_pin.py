"""A rollback's pin meets the syncer: the next publication drops it (the fleet rolls forward)
unless it holds (`rollback --pin`); retention never deletes the pinned generation."""

from __future__ import annotations

import datetime as dt

from showcase_common.snapshots import Pin, StoredGeneration
from syncer.retention import RetentionPolicy, expired

from tests.unit.syncer.conftest import World
from tests.unit.syncer.helpers import created


async def _pinned_to_first(world: World, *, hold: bool) -> None:
    for i in range(2):
        await world.syncer.handler.handle_batch([created(i)])
    first = world.store.describe(1)
    assert first is not None
    _, etag = world.store.read_pointer()
    world.store.set_pin(Pin(snapshot=first, hold=hold, by="alice"), etag)


async def test_the_next_publication_rolls_forward_dropping_the_pin(world: World) -> None:
    await _pinned_to_first(world, hold=False)
    await world.syncer.handler.handle_batch([created(7)])
    pointer, _ = world.store.read_pointer()
    assert pointer is not None and pointer.generation == 3 and pointer.pin is None


async def test_a_holding_pin_stays_while_generations_are_published(world: World) -> None:
    await _pinned_to_first(world, hold=True)
    await world.syncer.handler.handle_batch([created(7)])
    pointer, _ = world.store.read_pointer()
    assert pointer is not None and pointer.generation == 3  # still numbered from the newest
    assert pointer.pin is not None and pointer.pin.snapshot.generation == 1
    assert pointer.target.generation == 1  # what a booting machine catches up to


def test_retention_keeps_the_pinned_generation() -> None:
    old = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    stored = [StoredGeneration(g, f"k{g}", old) for g in range(1, 11)]
    policy = RetentionPolicy(keep=3, min_age=dt.timedelta(0))
    gone = [g.generation for g in expired(stored, policy, old + dt.timedelta(days=1), 10, 2)]
    assert gone == [1, 3, 4, 5, 6, 7]
