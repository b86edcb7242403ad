"""Pause and resume as the roll-out meets them: held before any machine is called, resumed
without a retry, handed back when the updater stops, and a pause read from a bus that is away."""

from __future__ import annotations

import asyncio

import pytest
from showcase_common.bus import RetryableError
from showcase_common.events import FleetUpdated, MachineUpdated, RolloutPaused, RolloutResumed
from showcase_common.fleet_control import PauseState

from tests.support.fakes import FakeFleetControl
from tests.unit.machine_updater.test_handlers import World, request, synced


def paused_world(n: int = 3) -> tuple[World, FakeFleetControl]:
    control = FakeFleetControl(PauseState(paused_by="ops", reason="fixing the prerender"))
    return World(n, control=control, pause_poll_s=0.001), control


async def test_a_paused_fleet_calls_no_machine_and_goes_on_when_resumed() -> None:
    world, control = paused_world()
    task = asyncio.create_task(world.handler.handle([synced(5, request(1))]))
    await asyncio.wait_for(control.read.wait(), 5)
    reads_when_held = control.reads
    control.read.clear()
    await asyncio.wait_for(control.read.wait(), 5)  # still looking, still holding
    assert control.reads > reads_when_held
    assert not task.done()
    assert world.client.updates == {}  # no machine called while paused
    paused = world.publisher.of(RolloutPaused)
    assert len(paused) == 1
    assert paused[0].paused_by == "ops" and paused[0].reason == "fixing the prerender"
    assert paused[0].requests == [request(1)] and paused[0].generation == 5

    await control.resume()
    await asyncio.wait_for(task, 5)
    assert len(world.publisher.of(RolloutResumed)) == 1
    assert len(world.publisher.of(MachineUpdated)) == 3
    assert len(world.publisher.of(FleetUpdated)) == 1
    kinds = [type(e).__name__ for e, _ in world.publisher.published]
    assert kinds.index("RolloutResumed") < kinds.index("MachineUpdated")


async def test_a_held_rollout_is_handed_back_on_stop_and_its_pause_announced_once() -> None:
    world, control = paused_world()
    event = synced(5)
    stop = asyncio.Event()
    await world.start(stop)
    first = asyncio.create_task(world.handler.handle([event]))
    await asyncio.wait_for(control.read.wait(), 5)
    stop.set()  # the runner stops the updater
    with pytest.raises(RetryableError, match="paused"):
        await asyncio.wait_for(first, 5)  # handed back to the stream, not acknowledged

    await world.start(asyncio.Event())  # the next updater gets the same message
    control.read.clear()
    second = asyncio.create_task(world.handler.handle([event]))
    await asyncio.wait_for(control.read.wait(), 5)
    await control.resume()
    await asyncio.wait_for(second, 5)
    assert len(world.publisher.of(RolloutPaused)) == 1  # same pause, same msg id
    assert len(world.publisher.of(FleetUpdated)) == 1


async def test_running_fleet_is_not_held() -> None:
    world = World(2, control=FakeFleetControl(), pause_poll_s=0.001)
    await world.handler.handle([synced(5)])
    assert world.publisher.of(RolloutPaused) == []
    assert len(world.publisher.of(FleetUpdated)) == 1


async def test_unreadable_pause_at_the_start_is_retried_not_guessed() -> None:
    control = FakeFleetControl()
    control.broken = True
    world = World(2, control=control, pause_poll_s=0.001)
    with pytest.raises(RetryableError, match="paused"):
        await world.handler.handle([synced(5)])
    assert world.client.updates == {}
