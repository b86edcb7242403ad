"""A roll-out's events: the machines' go out without waiting for each other's acknowledgement,
the verdict only once all of them are durable, and a failed publish is never lost."""

from __future__ import annotations

import asyncio

import pytest
from machine_updater.fleet import Machine
from machine_updater.plan import plan
from machine_updater.report import Report
from machine_updater.rollout import MachineResult
from showcase_common.events import (
    FleetUpdated,
    FleetUpdateFailed,
    IndexSynced,
    MachineUpdated,
    MachineUpdateFailed,
    RequestRef,
    ShowcaseRef,
    Snapshot,
)

from tests.support.fakes import FakePublisher

MACHINES = [Machine(f"m{i}", "iad", f"http://m{i}") for i in range(3)]


def synced() -> IndexSynced:
    showcase = ShowcaseRef(showcase_id=1, year=2026, location_key="boston", key="s", name="S")
    ref = RequestRef(request_id="r1", user="studio", showcase=showcase, redirect_url="http://x/")
    snapshot = Snapshot(generation=7, object_key="g7", sha256="0" * 64, size=1)
    return IndexSynced(snapshot=snapshot, requests=[ref])


def ok(machine: Machine) -> MachineResult:
    return MachineResult(machine, 7, None, True, 1, 0.1)


def failed(machine: Machine) -> MachineResult:
    return MachineResult(machine, None, "refused", True, 1, 0.1, "machine_refused")


async def settle() -> None:
    """Let every task that can run do so (no time passes: each step is a hand-over)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_machine_events_go_out_without_waiting_for_each_ack() -> None:
    publisher = FakePublisher()
    publisher.acks = asyncio.Event()  # the bus acknowledges nothing yet
    report = Report(publisher, plan([synced()]), total=3)
    for machine in MACHINES:
        await report.machine_finished(ok(machine))
    await settle()
    assert publisher.sent == [f"machine:7:{m.id}:{synced_id(report)}" for m in MACHINES]
    assert publisher.published == []  # sent, none acknowledged: none waited for another


async def test_the_verdict_waits_until_every_machine_event_is_durable() -> None:
    publisher = FakePublisher()
    publisher.acks = asyncio.Event()
    report = Report(publisher, plan([synced()]), total=3)
    for machine in MACHINES:
        await report.machine_finished(ok(machine))
    verdict = asyncio.create_task(report.fleet_finished([ok(m) for m in MACHINES], [], 0.3))
    await settle()
    assert not any(sent.startswith("fleet") for sent in publisher.sent)
    publisher.acks.set()
    await verdict
    kinds = [type(event) for event, _ in publisher.published]
    assert kinds == [MachineUpdated] * 3 + [FleetUpdated]
    assert [e.done for e in publisher.of(MachineUpdated)] == [1, 2, 3]


async def test_a_failed_verdict_also_follows_every_machine_event() -> None:
    publisher = FakePublisher()
    publisher.acks = asyncio.Event()
    report = Report(publisher, plan([synced()]), total=2)
    results = [ok(MACHINES[0]), failed(MACHINES[1])]
    for result in results:
        await report.machine_finished(result)
    verdict = asyncio.create_task(report.fleet_finished(results, [], 0.2))
    await settle()
    assert not any(sent.startswith("fleet") for sent in publisher.sent)
    publisher.acks.set()
    await verdict
    kinds = [type(event) for event, _ in publisher.published]
    assert kinds == [MachineUpdated, MachineUpdateFailed, FleetUpdateFailed]


async def test_a_machine_event_whose_publish_failed_is_published_again_before_the_verdict() -> None:
    publisher = FakePublisher()
    report = Report(publisher, plan([synced()]), total=3)
    lost = f"machine:7:m1:{synced_id(report)}"
    publisher.failing = {lost}  # its first publish gets no acknowledgement
    for machine in MACHINES:
        await report.machine_finished(ok(machine))
    await report.fleet_finished([ok(m) for m in MACHINES], [], 0.3)
    assert publisher.sent.count(lost) == 2
    assert {e.machine_id for e in publisher.of(MachineUpdated)} == {"m0", "m1", "m2"}
    assert type(publisher.published[-1][0]) is FleetUpdated


async def test_when_publishing_again_fails_too_there_is_no_verdict_and_the_error_goes_up() -> None:
    publisher = FakePublisher()
    report = Report(publisher, plan([synced()]), total=3)
    publisher.failing = {f"machine:7:m2:{synced_id(report)}"}
    for machine in MACHINES:
        await report.machine_finished(ok(machine))
    await settle()
    publisher.broken = True  # the bus is gone: the second try fails as well
    with pytest.raises(ConnectionError):
        await report.fleet_finished([ok(m) for m in MACHINES], [], 0.3)
    assert publisher.of(FleetUpdated) == []  # the delivery is retried: nothing is lost


async def test_abandon_drops_what_is_on_its_way() -> None:
    publisher = FakePublisher()
    publisher.acks = asyncio.Event()
    report = Report(publisher, plan([synced()]), total=3)
    await report.machine_finished(ok(MACHINES[0]))
    report.abandon()
    publisher.acks.set()
    await settle()
    assert publisher.published == []
    await report.durable()  # nothing left to wait for


def synced_id(report: Report) -> str:
    return report._plan.rollout_id
