"""Retention: which generations go, and that housekeeping never costs a studio its request."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from showcase_common import events
from showcase_common.snapshots import StoredGeneration
from syncer.retention import RetentionPolicy, expired

from tests.unit.syncer.conftest import make_world
from tests.unit.syncer.helpers import created

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


def _stored(*ages_by_generation: tuple[int, float]) -> list[StoredGeneration]:
    return [
        StoredGeneration(g, f"db/generations/{g:012d}.sqlite3", NOW - dt.timedelta(hours=age))
        for g, age in ages_by_generation
    ]


def _numbers(stored: list[StoredGeneration]) -> list[int]:
    return [g.generation for g in stored]


def test_all_but_the_newest_go_once_old_enough() -> None:
    stored = _stored((5, 9), (1, 9), (4, 9), (2, 9), (3, 9))
    policy = RetentionPolicy(keep=2, min_age=dt.timedelta(hours=1))
    assert _numbers(expired(stored, policy, NOW)) == [1, 2, 3]


def test_a_young_generation_stays_even_when_beyond_keep() -> None:
    # 2 is an orphan of a race that is still young: a machine may be fetching it right now.
    stored = _stored((1, 9), (2, 0.5), (3, 9), (4, 9))
    policy = RetentionPolicy(keep=1, min_age=dt.timedelta(hours=1))
    assert _numbers(expired(stored, policy, NOW)) == [1, 3]


def test_the_pointers_generation_always_stays() -> None:
    # 3 and 4 are orphans above the pointer (uploads that lost the race for the pointer).
    stored = _stored((1, 9), (2, 9), (3, 9), (4, 9))
    policy = RetentionPolicy(keep=1, min_age=dt.timedelta(hours=1))
    assert _numbers(expired(stored, policy, NOW, pointer=2)) == [1, 3]


def test_keep_zero_keeps_everything() -> None:
    stored = _stored((1, 99), (2, 99))
    assert expired(stored, RetentionPolicy(keep=0, min_age=dt.timedelta(0)), NOW) == []


def test_fewer_than_keep_keeps_everything() -> None:
    stored = _stored((1, 99), (2, 99))
    assert expired(stored, RetentionPolicy(keep=5, min_age=dt.timedelta(0)), NOW) == []


async def test_publications_leave_only_the_newest_generations(tmp_path: Path) -> None:
    world = make_world(tmp_path, syncer_keep_generations=3, syncer_keep_min_age_s=0)
    for i in range(6):
        await world.consume([created(i)])

    assert world.store.generations() == [4, 5, 6]
    assert world.store.pointer is not None
    assert world.store.pointer.object_key in world.store.objects
    assert world.store.legacy_key in world.store.objects


async def test_a_failing_cleanup_still_reports_the_request_synced(tmp_path: Path) -> None:
    world = make_world(tmp_path, syncer_keep_generations=1, syncer_keep_min_age_s=0)
    await world.consume([created(1)])
    world.store.listing_outage = 1

    await world.consume([created(2)])

    assert [s.snapshot.generation for s in world.publisher.of(events.IndexSynced)] == [1, 2]
    assert world.store.generations() == [1, 2]  # nothing removed this time...
    await world.consume([created(3)])
    assert world.store.generations() == [3]  # ...and caught up after the next publication
