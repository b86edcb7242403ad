"""The roll-outs as `build(settings, FakeUpdaterPorts(...))` wires them, events handed to the
service's consumer (its handler table)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest
from machine_updater.bootstrap import build
from machine_updater.config import UpdaterSettings
from machine_updater.fleet import Machine
from machine_updater.handlers import RolloutHandler
from machine_updater.rollout import MachineResult
from nats.aio.msg import Msg
from showcase_common import subjects
from showcase_common.bus import ConsumerSpec, Delivery, RetryableError
from showcase_common.events import (
    Event,
    FleetUpdated,
    FleetUpdateFailed,
    IndexSynced,
    MachinesRetryRequested,
    MachineUpdated,
    MachineUpdateFailed,
    RequestRef,
    RetryRequested,
    ShowcaseRef,
    Snapshot,
    decode,
)
from showcase_common.replay import PageAnswer

from tests.support.fakes import (
    FakeFleet,
    FakeFleetControl,
    FakeMachine,
    FakeMachineClient,
    FakeNewestSnapshot,
    FakePublisher,
)
from tests.support.ports import FakeUpdaterPorts

REGIONS = ["iad", "ord", "sjc", "ams", "cdg", "nrt", "syd", "gru", "lhr", "fra"]


def request(n: int = 1) -> RequestRef:
    showcase = ShowcaseRef(
        showcase_id=n, year=2026, location_key="boston", key=f"spring-{n}", name=f"Spring {n}"
    )
    return RequestRef(
        request_id=f"r{n}", user="studio", showcase=showcase, redirect_url="http://x/"
    )


def synced(generation: int, *requests: RequestRef, machine_ids: list[str] | None = None):
    snapshot = Snapshot(generation=generation, object_key=f"g{generation}", sha256="0" * 64, size=1)
    return IndexSynced(
        snapshot=snapshot, requests=list(requests) or [request()], machine_ids=machine_ids
    )


class World:
    """The updater `build` wires, over a fake fleet of `n` machines."""

    def __init__(
        self,
        n: int = 3,
        *,
        concurrency: int = 8,
        control: FakeFleetControl | None = None,
        **settings: object,
    ) -> None:
        self.fleet = FakeFleet(
            [Machine(f"m{i}", REGIONS[i % len(REGIONS)], f"http://m{i}") for i in range(n)]
        )
        pages = {request(k).showcase.path for k in range(1, 4)}
        self.client = FakeMachineClient({f"m{i}": FakeMachine() for i in range(n)}, pages)
        self.publisher = FakePublisher()
        self.newest_snapshot = FakeNewestSnapshot()
        config = UpdaterSettings(
            concurrency=concurrency,
            retry_initial_s=0.0,
            retry_max_s=0.0,
            machine_update_secret="test-machine-update-secret-of-32-bytes",
            **{"canary": False, "page_deadline_s": 0.0, "machine_attempts": 3, **settings},  # type: ignore[arg-type]
        )
        ports = FakeUpdaterPorts(
            publisher=self.publisher,
            newest_snapshot=self.newest_snapshot,
            fleet=self.fleet,
            client=self.client,
            control=control,
        )
        self.service = build(config, ports)
        [self.consumer] = self.service.consumers
        self.handler = _Handing(self.consumer)

    async def start(self, stop: asyncio.Event) -> None:
        """Run the service's workers as the runner does (the updater's hands it `stop`)."""
        for worker in self.service.workers:
            await worker(stop)

    def fake(self, machine_id: str) -> FakeMachine:
        return self.client.machines[machine_id]


class _Handing:
    """Hands events to the consumer's handler table, as one fetch of the loop would."""

    def __init__(self, consumer: ConsumerSpec) -> None:
        self._consumer = consumer

    async def handle(self, batch: Sequence[Event]) -> None:
        await self._consumer.handle_batch([Delivery(e, Msg(_client=None)) for e in batch])  # type: ignore[arg-type]  # the loop's message is not used


async def test_every_machine_is_updated_and_reported_as_it_finishes() -> None:
    world = World(3)
    world.client.release_at = 3
    event = synced(5)
    await world.handler.handle([event])

    updated = world.publisher.of(MachineUpdated)
    assert sorted(e.machine_id for e in updated) == ["m0", "m1", "m2"]
    assert [e.done for e in updated] == [1, 2, 3]
    assert {e.total for e in updated} == {3}
    assert all(e.generation == 5 and e.requests == [request()] for e in updated)
    fleet = world.publisher.of(FleetUpdated)
    assert len(fleet) == 1 and fleet[0].machine_ids == ["m0", "m1", "m2"]
    assert world.publisher.published[-1][0] is fleet[0]
    assert world.client.applied == {"m0": [5], "m1": [5], "m2": [5]}
    ids = [msg_id for _, msg_id in world.publisher.published]
    assert ids[0].startswith("machine:5:") and ids[-1].startswith("fleet:5:")


async def test_each_machine_is_told_which_showcases_are_new() -> None:
    world = World(2)
    await world.handler.handle([synced(5, request(2), request(1)), synced(4, request(3))])
    assert world.client.showcase_ids == {"m0": [1, 2, 3], "m1": [1, 2, 3]}


async def test_updates_run_in_parallel_up_to_the_concurrency_bound() -> None:
    world = World(10, concurrency=4)
    world.client.release_at = 4
    await world.handler.handle([synced(5)])
    assert world.client.max_in_flight == 4
    assert len(world.publisher.of(MachineUpdated)) == 10


async def test_all_machines_at_once_when_the_bound_allows() -> None:
    world = World(6, concurrency=8)
    world.client.release_at = 6
    await world.handler.handle([synced(5)])
    assert world.client.max_in_flight == 6


async def test_done_counts_follow_the_order_machines_finish() -> None:
    world = World(3)
    world.fake("m0").down_for = 1  # m0 needs a second attempt, so it finishes last
    world.client.release_at = 2
    await world.handler.handle([synced(5)])
    updated = world.publisher.of(MachineUpdated)
    assert updated[-1].machine_id == "m0" and updated[-1].done == 3


async def test_machines_not_running_are_skipped_and_listed() -> None:
    world = World(3)
    world.fleet.list[1] = Machine("m1", "ord", "http://m1", state="stopped")
    await world.handler.handle([synced(5)])
    assert "m1" not in world.client.updates
    (fleet,) = world.publisher.of(FleetUpdated)
    assert fleet.machine_ids == ["m0", "m2"] and fleet.skipped == ["m1"]
    assert {e.total for e in world.publisher.of(MachineUpdated)} == {2}


async def test_a_machine_down_fails_after_its_retries_and_is_named() -> None:
    world = World(3)
    world.fake("m2").down_for = 100
    await world.handler.handle([synced(5)])
    (failed,) = world.publisher.of(MachineUpdateFailed)
    assert failed.machine_id == "m2" and "after 3 attempts" in failed.error
    (fleet,) = world.publisher.of(FleetUpdateFailed)
    assert [f.machine_id for f in fleet.failures] == ["m2"]
    assert "connection refused" in fleet.failures[0].error
    assert fleet.updated == ["m0", "m1"]
    assert not world.publisher.of(FleetUpdated)


async def test_a_refusal_is_not_retried() -> None:
    world = World(2)
    world.fake("m1").refuse = True
    await world.handler.handle([synced(5)])
    (failed,) = world.publisher.of(MachineUpdateFailed)
    assert "401" in failed.error and "after 1 attempt" in failed.error


async def test_a_machine_whose_page_is_missing_does_not_count() -> None:
    world = World(2)
    world.fake("m1").render_pages = False
    await world.handler.handle([synced(5)])
    (failed,) = world.publisher.of(MachineUpdateFailed)
    assert failed.machine_id == "m1" and "answered 404" in failed.error
    assert world.publisher.of(FleetUpdateFailed)


async def test_a_slow_machine_fails_at_its_deadline() -> None:
    world = World(2, machine_deadline_s=0.2)
    world.fake("m1").hang = True
    await world.handler.handle([synced(5)])
    (failed,) = world.publisher.of(MachineUpdateFailed)
    assert failed.machine_id == "m1" and "deadline" in failed.error
    assert world.publisher.of(FleetUpdateFailed)[0].updated == ["m0"]


async def test_a_machines_retry_re_drives_only_those_with_the_newest_snapshot() -> None:
    world = World(3)
    world.fake("m2").down_for = 100
    first = synced(5)
    await world.handler.handle([first])
    world.fake("m2").down_for = 0
    world.newest_snapshot.value = first.snapshot  # the newest IndexSynced on the stream
    await world.handler.handle([MachinesRetryRequested(request=request(), machine_ids=["m2"])])
    assert world.client.updates == {"m0": 1, "m1": 1, "m2": 1}
    (fleet,) = world.publisher.of(FleetUpdated)
    assert fleet.machine_ids == ["m2"] and fleet.generation == 5
    assert not world.publisher.of(IndexSynced)  # nothing was synced, nothing announced


async def test_a_machines_retry_with_no_snapshot_announced_goes_to_a_sync() -> None:
    world = World(3)
    retry = MachinesRetryRequested(request=request(), machine_ids=["m2"])
    await world.handler.handle([retry])
    await world.handler.handle([retry])  # a redelivery: the same msg id
    assert world.client.updates == {}
    [(sync, msg_id)] = [(e, m) for e, m in world.publisher.published]
    assert isinstance(sync, RetryRequested) and sync.from_step == "sync"
    assert sync.request == retry.request and msg_id == f"retry-sync:{retry.event_id}"


# An IndexSynced as the syncer encoded it for a machines-only retry before
# MachinesRetryRequested existed: the stream keeps such events for 30 days.
OLD_TARGETED_SYNCED = (
    b'{"version":1,"event_id":"0ld5ynced","occurred_at":"2025-01-02T03:04:05Z",'
    b'"snapshot":{"generation":5,"object_key":"g5","sha256":"' + b"0" * 64 + b'","size":1},'
    b'"requests":[{"request_id":"r1","user":"studio","showcase":{"showcase_id":1,"year":2026,'
    b'"location_key":"boston","key":"spring-1","name":"Spring 1","page":null},'
    b'"redirect_url":"http://x/"}],"machine_ids":["m2"]}'
)


async def test_an_old_index_synced_naming_machines_re_drives_only_those() -> None:
    world = World(3)
    world.fake("m2").down_for = 100
    await world.handler.handle([synced(5)])
    world.fake("m2").down_for = 0
    old = decode(subjects.INDEX_SYNCED, OLD_TARGETED_SYNCED)
    await world.handler.handle([old])
    assert world.client.updates == {"m0": 1, "m1": 1, "m2": 1}
    (fleet,) = world.publisher.of(FleetUpdated)
    assert fleet.machine_ids == ["m2"]


async def test_a_replayed_event_calls_no_machine_and_publishes_nothing_new() -> None:
    world = World(3)
    event = synced(5)
    await world.handler.handle([event])
    published = len(world.publisher.published)
    await world.handler.handle([event])
    assert world.client.updates == {"m0": 1, "m1": 1, "m2": 1}
    assert len(world.publisher.published) == published  # same facts, same msg ids


async def test_a_machine_already_at_the_generation_is_not_updated_again() -> None:
    world = World(2)
    for fake in world.client.machines.values():
        fake.generation = 5
        fake.pages = {request().showcase.path}
    await world.handler.handle([synced(5)])
    assert not world.client.updates  # its answer was a no-op: nothing applied
    assert world.client.calls == {"m0": 1, "m1": 1} and not world.client.status_reads
    assert world.publisher.of(FleetUpdated)


async def test_one_call_per_machine_when_the_agent_reports_its_own_page_check() -> None:
    world = World(3)
    for fake in world.client.machines.values():
        fake.reports_pages = True
    await world.handler.handle([synced(5)])
    assert world.publisher.of(FleetUpdated)
    assert world.client.calls == {"m0": 1, "m1": 1, "m2": 1}
    assert not world.client.status_reads  # no status read before the update
    assert all(fake.page_asks == 0 for fake in world.client.machines.values())


async def test_reported_answers_are_judged_by_region_and_a_wrong_one_is_asked_again() -> None:
    world = World(3, page_deadline_s=0.3, machine_attempts=1)  # m0 iad, m1 ord, m2 sjc
    path = regional_request("ord").showcase.path
    for machine_id in ("m0", "m2"):
        world.fake(machine_id).render_pages = False
        world.fake(machine_id).replays = {path: "ord"}
    for fake in world.client.machines.values():
        fake.reports_pages = True
    # m0 reports a replay to the wrong region, but answers rightly when asked: it counts;
    # m1 (the page's region) reports a replay of its own page: asked, it still does
    world.fake("m0").reported = {path: PageAnswer(307, "sjc")}
    world.fake("m1").render_pages = False
    world.fake("m1").replays = {path: "ord"}
    await world.handler.handle([synced(5, regional_request("ord"))])

    updated = {e.machine_id: e for e in world.publisher.of(MachineUpdated)}
    assert set(updated) == {"m0", "m2"}
    assert updated["m0"].handed_on == {path: "ord"} and updated["m2"].handed_on == {path: "ord"}
    assert world.fake("m0").page_asks == 1 and world.fake("m2").page_asks == 0
    (failed,) = world.publisher.of(MachineUpdateFailed)
    assert failed.machine_id == "m1" and "not 200 in its region ord" in failed.error
    assert world.fake("m1").page_asks > 1  # asked itself until the page deadline


async def test_a_page_missing_from_the_report_is_asked() -> None:
    world = World(1)
    world.fake("m0").reports_pages = True
    world.fake("m0").reported = {"/showcase/2026/elsewhere/other/": PageAnswer(200)}
    await world.handler.handle([synced(5)])
    assert world.publisher.of(FleetUpdated) and world.fake("m0").page_asks == 1


async def test_a_batch_is_one_roll_out_of_the_newest_for_all_its_requests() -> None:
    world = World(2)
    await world.handler.handle([synced(3, request(1)), synced(5, request(2))])
    assert world.client.applied == {"m0": [5], "m1": [5]}
    (fleet,) = world.publisher.of(FleetUpdated)
    assert {r.request_id for r in fleet.requests} == {"r1", "r2"}


async def test_an_older_event_after_a_newer_one_completes_without_calls() -> None:
    world = World(2)
    await world.handler.handle([synced(5, request(2))])
    await world.handler.handle([synced(3, request(1))])
    assert world.client.updates == {"m0": 1, "m1": 1}
    fleets = world.publisher.of(FleetUpdated)
    assert [f.requests[0].request_id for f in fleets] == ["r2", "r1"]


async def test_a_newer_generation_supersedes_the_one_rolling_out() -> None:
    world = World(3, concurrency=1)

    def newer_arrives(machine: Machine, snapshot: Snapshot) -> None:
        world.newest_snapshot.value = synced(7).snapshot  # announced while generation 5 rolls out

    world.client.after_update.append(newer_arrives)
    await world.handler.handle([synced(5)])
    applied = sorted(world.client.applied.values())
    assert applied == [[5], [7], [7]]
    # the newer event's own roll-out then only lifts the machine that got the older one
    await world.handler.handle([synced(7, request(2))])
    assert world.client.updates == {"m0": 2, "m1": 1, "m2": 1}


async def test_a_fleet_that_cannot_be_listed_is_retried_later() -> None:
    world = World(2)
    world.fleet.broken = True
    with pytest.raises(RetryableError):
        await world.handler.handle([synced(5)])
    assert not world.publisher.published


async def test_no_running_machine_completes_with_all_skipped() -> None:
    world = World(1)
    world.fleet.list[0] = Machine("m0", "iad", "http://m0", state="suspended")
    await world.handler.handle([synced(5)])
    (fleet,) = world.publisher.of(FleetUpdated)
    assert fleet.machine_ids == [] and fleet.skipped == ["m0"]


async def test_a_publishing_failure_fails_the_delivery_and_redelivery_updates_nobody_again() -> (
    None
):
    world = World(3)
    world.publisher.broken = True
    event = synced(5)
    with pytest.raises(ConnectionError):
        await world.handler.handle([event])  # the loop naks: the event comes back
    world.publisher.broken = False
    await world.handler.handle([event])
    assert sum(world.client.updates.values()) <= 3
    assert world.publisher.of(FleetUpdated)


async def test_machine_events_do_not_wait_for_each_other_and_the_verdict_waits_for_all() -> None:
    world = World(4)
    world.publisher.acks = asyncio.Event()  # the bus acknowledges nothing until told
    rolling = asyncio.create_task(world.handler.handle([synced(5)]))
    await world.publisher.wait_sent(4)  # each machine's event is sent as it finishes...
    assert world.publisher.published == []  # ...none waiting for another's acknowledgement
    assert not any(sent.startswith("fleet") for sent in world.publisher.sent)
    world.publisher.acks.set()
    await rolling
    kinds = [type(event) for event, _ in world.publisher.published]
    assert kinds == [MachineUpdated] * 4 + [FleetUpdated]


def rollout_handler(world: World) -> RolloutHandler:
    handler = world.consumer.handles_batches[IndexSynced]
    assert isinstance(handler.__self__, RolloutHandler)  # type: ignore[attr-defined]  # a bound method
    return handler.__self__  # type: ignore[attr-defined]


async def test_the_slowest_machines_of_the_last_roll_out_are_called_first() -> None:
    world = World(4, concurrency=1)
    pace = rollout_handler(world).pace
    for machine_id, seconds in [("m0", 0.1), ("m1", 0.9), ("m2", 0.4)]:  # m3 never seen
        machine = Machine(machine_id, "iad", f"http://{machine_id}")
        pace.learn(MachineResult(machine, 4, None, True, 1, seconds))
    await world.handler.handle([synced(5)])
    assert world.client.order == ["m3", "m1", "m2", "m0"]
    assert len(world.publisher.of(FleetUpdated)) == 1


async def test_the_pace_is_a_machines_distance_not_its_apply() -> None:
    world = World(2, concurrency=1)
    pace = rollout_handler(world).pace
    near_but_slow_apply = MachineResult(Machine("m0", "iad", "http://m0"), 4, None, True, 1, 1.3)
    far = MachineResult(Machine("m1", "syd", "http://m1"), 4, None, True, 1, 1.0)
    pace.learn(dataclasses.replace(near_but_slow_apply, apply_s=1.25))  # 50 ms beyond its apply
    pace.learn(dataclasses.replace(far, apply_s=0.8))  # 200 ms beyond its apply
    assert pace.last_s("m0") == pytest.approx(0.05) and pace.last_s("m1") == pytest.approx(0.2)
    await world.handler.handle([synced(5)])
    assert world.client.order == ["m1", "m0"]


async def test_each_machines_pace_is_learned_from_its_calls_and_a_failure_teaches_nothing() -> None:
    world = World(3)
    world.fake("m1").refuse = True
    await world.handler.handle([synced(5)])
    pace = rollout_handler(world).pace
    assert pace.last_s("m0") is not None and pace.last_s("m2") is not None
    assert pace.last_s("m1") is None


def regional_request(region: str | None) -> RequestRef:
    showcase = ShowcaseRef(
        showcase_id=1,
        year=2026,
        location_key="boston",
        key="spring-1",
        name="Spring 1",
        region=region,
    )
    return RequestRef(request_id="r1", user="studio", showcase=showcase, redirect_url="http://x/")


async def test_machines_of_other_regions_count_when_they_hand_the_page_on() -> None:
    world = World(3)  # m0 iad, m1 ord, m2 sjc
    path = regional_request("ord").showcase.path
    for machine_id in ("m0", "m2"):
        world.fake(machine_id).render_pages = False
        world.fake(machine_id).replays = {path: "ord"}
    await world.handler.handle([synced(5, regional_request("ord"))])
    updated = {e.machine_id: e for e in world.publisher.of(MachineUpdated)}
    assert set(updated) == {"m0", "m1", "m2"} and world.publisher.of(FleetUpdated)
    assert updated["m0"].handed_on == {path: "ord"} and updated["m2"].handed_on == {path: "ord"}
    assert updated["m1"].handed_on == {}


async def test_a_replay_to_a_wrong_region_or_a_404_does_not_count() -> None:
    world = World(3)
    path = regional_request("ord").showcase.path
    for machine_id in ("m0", "m2"):
        world.fake(machine_id).render_pages = False
    world.fake("m0").replays = {path: "sjc"}
    await world.handler.handle([synced(5, regional_request("ord"))])
    failed = {e.machine_id: e for e in world.publisher.of(MachineUpdateFailed)}
    assert set(failed) == {"m0", "m2"}
    assert "fly-replay to sjc" in failed["m0"].error and "to ord" in failed["m0"].error
    assert "answered 404" in failed["m2"].error
    (fleet,) = world.publisher.of(FleetUpdateFailed)
    assert fleet.updated == ["m1"]


async def test_the_machine_of_the_region_must_serve_the_page_itself() -> None:
    world = World(2)  # m0 iad, m1 ord
    path = regional_request("ord").showcase.path
    world.fake("m1").render_pages = False
    world.fake("m1").replays = {path: "ord"}  # a replay from its own region: nobody serves it
    await world.handler.handle([synced(5, regional_request("ord"))])
    (failed,) = world.publisher.of(MachineUpdateFailed)
    assert failed.machine_id == "m1" and "not 200 in its region ord" in failed.error


async def test_a_page_that_appears_late_counts_within_the_page_deadline() -> None:
    world = World(1, page_deadline_s=30.0)
    world.fake("m0").page_not_yet = 2
    await world.handler.handle([synced(5)])
    assert world.publisher.of(FleetUpdated) and world.fake("m0").page_asks == 3
    assert world.client.updates["m0"] == 1  # asked again, not updated again


async def test_a_page_that_never_appears_fails_after_the_page_deadline() -> None:
    world = World(1, page_deadline_s=0.3, machine_attempts=1)
    world.fake("m0").render_pages = False
    await world.handler.handle([synced(5)])
    (failed,) = world.publisher.of(MachineUpdateFailed)
    assert failed.reason == "not_serving" and "answered 404" in failed.error
    assert world.fake("m0").page_asks > 1  # asked until the deadline, not once
