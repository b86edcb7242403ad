"""Pause and resume as the roll-out meets them: held before any machine is called, resumed
without a retry, handed back when the updater stops, and a pause read from a bus that is away."""

from __future__ import annotations

import asyncio

import pytest
from machine_updater.newest_snapshot import Announced
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


async def test_requests_synced_behind_a_held_rollout_are_told_they_are_paused_too() -> None:
    world, control = paused_world()
    held = synced(5, request(1))
    world.newest_snapshot.announced.append(held)
    task = asyncio.create_task(world.handler.handle([held]))
    await asyncio.wait_for(control.read.wait(), 5)

    behind = [synced(6, request(2)), synced(7, request(3))]  # synced while generation 5 waits
    world.newest_snapshot.announced += behind
    for _ in range(3):  # a look certainly after the append, and one after that
        control.read.clear()
        await asyncio.wait_for(control.read.wait(), 5)
    paused = {e.generation: e for e in world.publisher.of(RolloutPaused)}
    assert sorted(paused) == [5, 6, 7]  # each announced once, though looked at again
    assert paused[6].requests == [request(2)] and paused[7].requests == [request(3)]
    assert paused[6].paused_by == "ops" and paused[6].reason == "fixing the prerender"
    assert world.client.updates == {}

    await control.resume()
    await asyncio.wait_for(task, 5)
    resumed = {e.generation: e.requests for e in world.publisher.of(RolloutResumed)}
    assert resumed == {5: [request(1)], 6: [request(2)], 7: [request(3)]}


async def test_a_failed_look_at_those_behind_is_tried_again_and_the_hold_goes_on() -> None:
    world, control = paused_world()
    held = synced(5, request(1))
    task = asyncio.create_task(world.handler.handle([held]))
    await asyncio.wait_for(control.read.wait(), 5)
    reads = world.newest_snapshot.announced_after
    failed = asyncio.Event()

    async def away(seq: int | None) -> list[Announced]:
        failed.set()
        raise ConnectionError("bus away")

    world.newest_snapshot.announced_after = away  # type: ignore[method-assign]
    world.newest_snapshot.announced += [held, synced(6, request(2))]
    await asyncio.wait_for(failed.wait(), 5)
    world.newest_snapshot.announced_after = reads  # type: ignore[method-assign]
    for _ in range(100):  # each look reads the pause once; the next ones tell those behind
        if len(world.publisher.of(RolloutPaused)) == 2:
            break
        control.read.clear()
        await asyncio.wait_for(control.read.wait(), 5)
    assert not task.done()  # held all along: telling those behind is not the hold's business
    assert [e.generation for e in world.publisher.of(RolloutPaused)] == [5, 6]
    await control.resume()
    await asyncio.wait_for(task, 5)
    assert [e.generation for e in world.publisher.of(RolloutResumed)] == [5, 6]


async def test_the_machines_starting_together_share_one_look_at_the_pause() -> None:
    control = FakeFleetControl()
    world = World(4, control=control, pause_poll_s=0.001)
    await world.handler.handle([synced(5)])
    assert len(world.publisher.of(FleetUpdated)) == 1
    assert control.reads == 2  # one before the roll-out, one shared by its four machines
