"""The syncer's metrics move with what it does (deltas: the registry is process-wide)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY
from showcase_common import events

from tests.unit.syncer.conftest import World, make_world
from tests.unit.syncer.helpers import FakeDelivery, created


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _published() -> float:
    return _value("syncer_publications_total", outcome="published")


async def test_a_publication_counts_its_requests_duration_and_generation(world: World) -> None:
    before = (_published(), _value("syncer_requests_covered_total"))
    seconds = _value("syncer_publication_seconds_count")

    await world.consume([created(1), created(2)])
    await world.consume([created(1, delivered=2)])  # covered: no publication

    assert _published() - before[0] == 1
    assert _value("syncer_requests_covered_total") - before[1] == 2
    assert _value("syncer_publication_seconds_count") - seconds == 1
    assert _value("syncer_generation") == 1


async def test_s3_retries_and_a_spent_budget_are_counted(world: World) -> None:
    retries = _value("syncer_s3_retries_total")
    unavailable = _value("syncer_publications_total", outcome="storage_unavailable")
    world.store.outage = 1000

    await world.consume([created(1)])

    assert _value("syncer_s3_retries_total") - retries == 4  # attempts 2..5 of 5
    assert _value("syncer_publications_total", outcome="storage_unavailable") - unavailable == 1
    assert world.publisher.of(events.IndexSyncFailed)


async def test_retention_counts_the_generations_it_removes(tmp_path: Path) -> None:
    world = make_world(tmp_path, syncer_keep_generations=2, syncer_keep_min_age_s=0)
    rollout = events.RolloutRequested(requested_by="ops")
    removed = _value("syncer_generations_removed_total")

    for _ in range(4):
        await world.consume([FakeDelivery(rollout)])

    assert world.store.generations() == [3, 4]
    assert _value("syncer_generations_removed_total") - removed == 2
