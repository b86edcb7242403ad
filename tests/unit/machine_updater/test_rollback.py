"""An operator's rollback through the handler: every machine to exactly that generation, with
the operator named; a pin that holds keeps newer roll-outs back until it is released."""

from __future__ import annotations

import asyncio

from showcase_common.events import (
    FleetUpdated,
    MachineUpdated,
    RollbackRequested,
    RolloutPaused,
    Snapshot,
)
from showcase_common.fleet_control import PinHold

from tests.support.fakes import FakeFleetControl
from tests.unit.machine_updater.test_handlers import World, request, synced

G3 = Snapshot(generation=3, object_key="g3", sha256="3" * 64, size=1)


async def test_every_machine_goes_back_to_exactly_the_generation_naming_the_operator() -> None:
    world = World(3, canary=True, control=FakeFleetControl())
    for machine in world.client.machines.values():
        machine.generation = 5
    world.fake("m2").generation = 3  # already there: not called
    event = RollbackRequested(snapshot=G3, actor="alice", reason="bad heat sheets")
    await world.handler.handle([event])

    assert sorted(world.client.rollbacks) == [("m0", 3, "alice"), ("m1", 3, "alice")]
    assert world.client.updates == {}  # never a plain update
    assert {m.generation for m in world.client.machines.values()} == {3}
    (done,) = world.publisher.of(FleetUpdated)
    assert done.generation == 3 and done.requests == [] and done.machine_ids == ["m0", "m1", "m2"]
    assert all(not e.canary for e in world.publisher.of(MachineUpdated))  # no canary


async def test_events_before_and_after_a_rollback_in_one_batch_keep_their_order() -> None:
    world = World(2)
    await world.handler.handle(
        [synced(5, request(1)), RollbackRequested(snapshot=G3, actor="bob"), synced(6, request(2))]
    )
    assert world.client.applied == {"m0": [5, 6], "m1": [5, 6]}
    assert [r[1] for r in world.client.rollbacks] == [3, 3]
    verdicts = [e.generation for e in world.publisher.of(FleetUpdated)]
    assert verdicts == [5, 3, 6]


async def test_a_holding_pin_keeps_newer_generations_back_until_released() -> None:
    control = FakeFleetControl()
    control.pin = PinHold(generation=3, pinned_by="alice", reason="until the fix")
    world = World(2, control=control, pause_poll_s=0.001)
    task = asyncio.create_task(world.handler.handle([synced(5, request(1))]))
    await asyncio.wait_for(control.read.wait(), 5)
    assert world.client.updates == {}
    (held,) = world.publisher.of(RolloutPaused)
    assert held.paused_by == "alice" and held.reason == "pinned to generation 3: until the fix"
    await control.release_pin()
    await asyncio.wait_for(task, 5)
    assert world.publisher.of(FleetUpdated)[0].generation == 5
