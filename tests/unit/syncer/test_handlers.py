"""The syncer's handler through `bootstrap`, with in-memory fakes of its ports."""

from __future__ import annotations

import pytest
from showcase_common import events, subjects
from showcase_common.bus import RetryableError

from tests.unit.syncer.conftest import World
from tests.unit.syncer.helpers import FakeDelivery, created, request


def _ids(refs: list[events.RequestRef]) -> list[str]:
    return [r.request_id for r in refs]


async def test_one_snapshot_covers_the_whole_batch(world: World) -> None:
    await world.consume([created(i) for i in range(5)])

    assert world.store.uploads == [1]
    [synced] = world.publisher.of(events.IndexSynced)
    assert _ids(synced.requests) == [f"r{i}" for i in range(5)]
    assert synced.snapshot == world.store.pointer
    assert world.publisher.published[-1][1] == "synced:1"
    assert world.ledger.entries == {f"r{i}": 1 for i in range(5)}
    assert world.store.legacy_key in world.store.objects
    assert not list(
        (world.syncer.settings.syncer_work_dir or world.syncer.writer.staging_dir).iterdir()
    )


async def test_generations_only_grow(world: World) -> None:
    for i in range(3):
        await world.consume([created(i)])
    assert world.store.uploads == [1, 2, 3]
    assert world.store.pointer is not None and world.store.pointer.generation == 3


async def test_duplicate_delivery_uploads_nothing(world: World) -> None:
    await world.consume([created(1)])
    await world.consume([created(1, delivered=2)])
    assert world.store.uploads == [1]
    assert len(world.publisher.of(events.IndexSynced)) == 1


async def test_sync_retry_bypasses_the_ledger(world: World) -> None:
    await world.consume([created(1)])
    retry = events.RetryRequested(request=request(1), from_step="sync")
    await world.consume([FakeDelivery(retry)])
    assert world.store.uploads == [1, 2]
    assert _ids(world.publisher.of(events.IndexSynced)[-1].requests) == ["r1"]


# What the syncer did with a machines-only retry before `MachinesRetryRequested` existed, as the
# old intake encoded it: the stream keeps such events for 30 days.
OLD_MACHINES_RETRY = (
    b'{"version":1,"event_id":"0ld0ld","occurred_at":"2025-01-02T03:04:05Z",'
    b'"request":{"request_id":"r1","user":"studio","showcase":{"showcase_id":1,"year":2026,'
    b'"location_key":"boston","key":"s1","name":"S1","page":null},'
    b'"redirect_url":"http://fleet.test/s1/"},"from_step":"machines","machine_ids":["m2"]}'
)


async def test_an_old_machines_retry_is_forwarded_to_the_updater_without_a_sync(
    world: World,
) -> None:
    await world.consume([created(1)])
    old = events.decode(subjects.RETRY_REQUESTED, OLD_MACHINES_RETRY)
    assert isinstance(old, events.RetryRequested)
    await world.consume([FakeDelivery(old), FakeDelivery(old, delivered=2)])

    assert world.store.uploads == [1] and len(world.publisher.of(events.IndexSynced)) == 1
    forwarded = [p for p in world.publisher.published if p[0].subject != subjects.INDEX_SYNCED]
    [(retry, msg_id)] = forwarded  # the redelivery's copy is de-duplicated by its msg id
    assert msg_id == "forwarded:0ld0ld"
    assert isinstance(retry, events.MachinesRetryRequested)
    assert retry.request == old.request and retry.machine_ids == ["m2"]


async def test_rollout_publishes_a_generation_for_no_request(world: World) -> None:
    await world.consume([FakeDelivery(events.RolloutRequested(requested_by="ops"))])
    [synced] = world.publisher.of(events.IndexSynced)
    assert synced.requests == [] and synced.snapshot.generation == 1


async def test_short_outage_is_retried_with_heartbeats_and_progress(world: World) -> None:
    world.store.outage = 2
    deliveries = [created(1), created(2)]
    await world.consume(deliveries)

    retrying = world.publisher.of(events.IndexSyncRetrying)
    assert [(r.attempt, r.max_attempts, r.reason) for r in retrying] == [
        (2, 5, "storage_unavailable"),
        (3, 5, "storage_unavailable"),
    ]
    assert all(r.error and r.message is None for r in retrying)
    assert _ids(retrying[0].requests) == ["r1", "r2"]
    assert [d.heartbeats for d in deliveries] == [2, 2]
    assert len(world.sleeps) == 2 and world.sleeps[0] <= world.sleeps[1] + 0.5
    assert world.store.uploads == [1]
    assert _ids(world.publisher.of(events.IndexSynced)[0].requests) == ["r1", "r2"]


async def test_long_outage_fails_every_covered_request(world: World) -> None:
    world.store.outage = 1000
    await world.consume([created(1), created(2)])

    [failed] = world.publisher.of(events.IndexSyncFailed)
    assert _ids(failed.requests) == ["r1", "r2"] and failed.reason == "storage_unavailable"
    assert len(world.publisher.of(events.IndexSyncRetrying)) == 4
    assert not world.publisher.of(events.IndexSynced) and not world.ledger.entries


async def test_a_request_is_never_covered_by_a_snapshot_without_its_showcase(world: World) -> None:
    world.snapshotter.showcase_ids = {1}
    late = FakeDelivery(events.ShowcaseCreated(request=request(2, showcase_id=500)))
    with pytest.raises(RetryableError):
        await world.consume([created(1), late])
    assert _ids(world.publisher.of(events.IndexSynced)[0].requests) == ["r1"]

    late.delivered = world.settings.consumer.max_deliver  # the last delivery: say so, clearly
    await world.consume([created(1, delivered=3), late])
    [failed] = world.publisher.of(events.IndexSyncFailed)
    assert _ids(failed.requests) == ["r2"] and failed.reason == "not_in_index"


async def test_a_racing_writer_makes_us_take_a_fresh_generation(world: World) -> None:
    await world.consume([created(1)])
    rival = world.store.pointer.model_copy(update={"generation": 7})  # type: ignore[union-attr]
    world.store.before_advance.append(lambda: world.store.force_pointer(rival))

    await world.consume([created(2)])

    assert world.store.pointer is not None and world.store.pointer.generation == 8
    assert world.snapshotter.taken == 3  # the lost snapshot was retaken, not reused
    assert world.publisher.of(events.IndexSynced)[-1].snapshot.generation == 8
