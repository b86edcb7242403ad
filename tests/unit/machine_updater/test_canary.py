"""Canary first: one machine alone, then the rest; a failing canary halts the roll-out with
every other machine left on the previous generation, and the verdict says so."""

from __future__ import annotations

from machine_updater.canary import CanaryPolicy, split
from machine_updater.fleet import Machine
from showcase_common.events import (
    CanaryStarted,
    FleetUpdated,
    FleetUpdateFailed,
    MachineUpdated,
    MachineUpdateFailed,
)
from showcase_common.replay import PageAnswer

from tests.unit.machine_updater.test_handlers import World, request, synced


def test_the_canary_is_the_named_machine_else_the_first_in_region_order() -> None:
    fleet = [Machine("b", "ord", "u"), Machine("a", "sjc", "u"), Machine("c", "iad", "u")]
    assert split(fleet, CanaryPolicy())[0] == fleet[2]  # iad < ord < sjc
    canary, rest = split(fleet, CanaryPolicy(machine_id="a"))
    assert canary == fleet[1] and rest == [fleet[0], fleet[2]]
    assert split(fleet, CanaryPolicy(machine_id="gone"))[0] == fleet[2]
    assert split(fleet, CanaryPolicy(enabled=False)) == (None, fleet)
    assert split(fleet[:1], CanaryPolicy()) == (None, fleet[:1])  # one machine: no canary


async def test_the_canary_goes_alone_first_then_the_rest() -> None:
    world = World(3, canary=True, canary_machine="m1")
    seen: dict[str, int] = {}  # machine -> MachineUpdated already published when it finished
    world.client.after_update.append(
        lambda m, _s: seen.setdefault(m.id, len(world.publisher.of(MachineUpdated)))
    )
    await world.handler.handle([synced(5, request(1))])

    started = world.publisher.of(CanaryStarted)
    assert [(e.machine_id, e.total, e.generation) for e in started] == [("m1", 3, 5)]
    assert seen["m1"] == 0 and seen["m0"] >= 1 and seen["m2"] >= 1  # after the canary's verdict
    updated = world.publisher.of(MachineUpdated)
    assert (updated[0].machine_id, updated[0].canary, updated[0].done) == ("m1", True, 1)
    assert all(not e.canary for e in updated[1:]) and len(updated) == 3
    assert world.publisher.of(FleetUpdated)[0].machine_ids == ["m0", "m1", "m2"]
    kinds = [type(e).__name__ for e, _ in world.publisher.published]
    assert kinds[0] == "CanaryStarted"


async def test_a_failing_canary_halts_the_rollout_and_leaves_the_others_as_they_were() -> None:
    world = World(3, canary=True, canary_machine="m2")
    for machine in world.client.machines.values():
        machine.generation = 4
    world.fake("m2").refuse = True
    await world.handler.handle([synced(5, request(1), request(2))])

    assert world.client.applied == {}  # nobody took generation 5
    assert {m.generation for m in world.client.machines.values()} == {4}
    assert world.publisher.of(MachineUpdated) == []
    assert [e.machine_id for e in world.publisher.of(MachineUpdateFailed)] == ["m2"]
    (verdict,) = world.publisher.of(FleetUpdateFailed)
    assert verdict.halted_by_canary and verdict.untouched == ["m0", "m1"]
    assert [f.machine_id for f in verdict.failures] == ["m2"]
    assert verdict.failures[0].reason == "machine_refused"
    assert verdict.requests == [request(1), request(2)]
    assert world.publisher.of(FleetUpdated) == []


async def test_the_canarys_pages_are_asked_from_outside_even_when_it_reports_them() -> None:
    world = World(3, canary=True, canary_machine="m1")
    for fake in world.client.machines.values():
        fake.reports_pages = True
    await world.handler.handle([synced(5, request(1))])
    assert world.publisher.of(FleetUpdated)
    asks = {machine_id: fake.page_asks for machine_id, fake in world.client.machines.items()}
    assert asks == {"m0": 0, "m1": 1, "m2": 0}  # the canary's one page; the rest trusted


async def test_a_canary_that_reports_its_page_but_does_not_serve_it_halts() -> None:
    world = World(3, canary=True, canary_machine="m1", page_deadline_s=0.2, machine_attempts=1)
    for fake in world.client.machines.values():
        fake.reports_pages = True
    world.fake("m1").render_pages = False
    world.fake("m1").reported = {request(1).showcase.path: PageAnswer(200)}
    await world.handler.handle([synced(5, request(1))])
    (verdict,) = world.publisher.of(FleetUpdateFailed)
    assert verdict.halted_by_canary and verdict.failures[0].reason == "not_serving"
    assert world.client.applied == {"m1": [5]}
