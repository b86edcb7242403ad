"""The updater against stand-in Rails machines speaking `update_config` (nothing installed):
real NATS, real S3, real HTTP; the stand-ins behave as navigator and the CGI script do."""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from machine_updater.bootstrap import build, ports
from machine_updater.config import UpdaterSettings
from showcase_common import runner
from showcase_common.bus import Publisher
from showcase_common.events import (
    FleetUpdated,
    FleetUpdateFailed,
    IndexSynced,
    MachinesRetryRequested,
    MachineUpdated,
    MachineUpdateFailed,
    RequestRef,
)
from showcase_common.settings import S3Settings

from tests.integration.machine_updater.conftest import SUMMER, EventLog, Index, summer_request
from tests.support.fake_fly import FakeFly
from tests.support.standin_machines import StandIns, write_fleet_file

SECRET = "test-machine-update-secret-of-32-bytes"
Updater = Callable[..., "asyncio.Future[None]"]


@pytest.fixture
async def run_updater(nats_url: str, s3_settings: S3Settings) -> AsyncIterator[Callable]:
    stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(**overrides: object) -> None:
        settings = UpdaterSettings(
            nats_url=nats_url,
            machine_update_secret=SECRET,
            retry_initial_s=0.05,
            retry_max_s=0.2,
            **{**s3_settings.model_dump(), **overrides},
        )
        made = ports(settings)
        service = build(settings, made)
        stop = asyncio.Event()
        http = runner.server(settings, service, listen_port=0)
        task = asyncio.create_task(runner.serve(settings, service, stop, link=made.nats, http=http))
        stops.append((stop, task))
        assert made.nats is not None
        await asyncio.wait_for(made.nats.wait_up(), 30)

    yield start
    for stop, task in stops:
        stop.set()
        await asyncio.wait_for(task, 30)


def summer(region: str | None = "iad") -> RequestRef:
    ref = summer_request()
    return ref.model_copy(update={"showcase": ref.showcase.model_copy(update={"region": region})})


def showcase_names(index: bytes) -> set[str]:
    db = sqlite3.connect(":memory:")
    db.deserialize(index)
    try:
        return {row[0] for row in db.execute("SELECT name FROM showcases")}
    finally:
        db.close()


async def test_each_machine_gets_the_gzipped_index_and_serves_or_hands_on_its_page(
    bus: tuple, index: Index, standin_machines: StandIns, run_updater: Callable, tmp_path: Path
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    machines = standin_machines("iad", "ord", "sjc", page_delay_s=0.5)
    await run_updater(fleet_file=write_fleet_file(tmp_path / "fleet.yaml", machines))
    snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
    await Publisher(js).publish(IndexSynced(snapshot=snapshot, requests=[summer("iad")]))
    fleet = await log.wait_for(lambda e: isinstance(e, FleetUpdated | FleetUpdateFailed))

    assert isinstance(fleet, FleetUpdated), fleet
    assert fleet.machine_ids == ["m1", "m2", "m3"]
    stored = tmp_path / "stored.sqlite3"
    await asyncio.to_thread(index.store.download, snapshot, stored)
    for m in machines:
        (call,) = m.machine.received
        assert call.headers["content-type"] == "application/vnd.sqlite3"
        assert call.headers["content-encoding"] == "gzip"
        assert call.headers["x-update-time"].endswith("Z")
        assert gzip.decompress(call.body) == stored.read_bytes()  # byte for byte
        assert "Summer Showcase" in showcase_names(gzip.decompress(call.body))
    updated = {e.machine_id: e for e in log.of(MachineUpdated)}
    path = summer().showcase.path
    assert updated["m1"].handed_on == {}  # iad: the page's region, serves it itself
    assert updated["m2"].handed_on == {path: "iad"} == updated["m3"].handed_on
    assert {e.protocol for e in updated.values()} == {"update_config"}


async def test_a_failed_line_fails_the_machine_and_retry_redrives_only_it(
    bus: tuple, index: Index, standin_machines: StandIns, run_updater: Callable, tmp_path: Path
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    machines = standin_machines("iad", "ord")
    machines[1].machine.mode = "fail"
    await run_updater(fleet_file=write_fleet_file(tmp_path / "fleet.yaml", machines))
    snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
    await Publisher(js).publish(IndexSynced(snapshot=snapshot, requests=[summer()]))
    fleet = await log.wait_for(lambda e: isinstance(e, FleetUpdateFailed))

    assert isinstance(fleet, FleetUpdateFailed)
    assert fleet.updated == ["m1"] and [f.machine_id for f in fleet.failures] == ["m2"]
    (failed,) = log.of(MachineUpdateFailed)
    assert failed.reason == "command_failed"
    assert "Configuration update FAILED (htpasswd update failed)" in failed.error
    assert "ERROR: htpasswd update failed" in failed.error  # the line before it, too

    # the machine is mended; the studio's Retry re-drives that machine only
    machines[1].machine.mode = "ok"
    calls_before = [len(m.machine.received) for m in machines]
    retry = MachinesRetryRequested(request=summer(), machine_ids=["m2"])
    await Publisher(js).publish(retry)
    done = await log.wait_for(lambda e: isinstance(e, FleetUpdated))
    assert isinstance(done, FleetUpdated) and done.machine_ids == ["m2"]
    assert [len(m.machine.received) for m in machines] == [calls_before[0], calls_before[1] + 1]


async def test_a_log_without_the_success_line_is_a_failure(
    bus: tuple, index: Index, standin_machines: StandIns, run_updater: Callable, tmp_path: Path
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    (machine,) = standin_machines("iad")
    machine.machine.mode = "truncated"
    await run_updater(
        fleet_file=write_fleet_file(tmp_path / "fleet.yaml", [machine]), machine_attempts=1
    )
    snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
    await Publisher(js).publish(IndexSynced(snapshot=snapshot, requests=[summer()]))
    await log.wait_for(lambda e: isinstance(e, FleetUpdateFailed))
    (failed,) = log.of(MachineUpdateFailed)
    assert "ended without 'Configuration update COMPLETED successfully'" in failed.error
    assert "Operation 3/5" in failed.error  # the last line it did say


async def test_a_page_that_never_appears_fails_after_the_page_deadline(
    bus: tuple, index: Index, standin_machines: StandIns, run_updater: Callable, tmp_path: Path
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    (machine,) = standin_machines("iad")
    machine.machine.mode = "nopage"
    fleet_file = write_fleet_file(tmp_path / "fleet.yaml", [machine])
    await run_updater(fleet_file=fleet_file, page_deadline_s=1.0, machine_attempts=2)
    snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
    await Publisher(js).publish(IndexSynced(snapshot=snapshot, requests=[summer()]))
    await log.wait_for(lambda e: isinstance(e, FleetUpdateFailed))
    (failed,) = log.of(MachineUpdateFailed)
    assert failed.reason == "not_serving" and "answered 404" in failed.error
    assert "after 2 attempts" in failed.error
    assert len(machine.machine.received) == 1  # the page was awaited again, the index not resent


async def test_on_fly_through_the_public_url_with_the_instance_header(
    bus: tuple,
    index: Index,
    standin_machines: StandIns,
    run_updater: Callable,
    fake_fly: FakeFly,
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    machines = standin_machines("iad", "ord")
    for m in machines:
        fake_fly.add(m.id, m.machine.region, m.url)
    await run_updater(
        fleet_file=None,
        fly_app_name=fake_fly.app_name,
        fly_api_token=fake_fly.token,
        fly_api_url=fake_fly.api_url,
        fly_app_url=fake_fly.app_url,
        fly_machine_protocol="update_config",
    )
    snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
    await Publisher(js).publish(IndexSynced(snapshot=snapshot, requests=[summer()]))
    fleet = await log.wait_for(lambda e: isinstance(e, FleetUpdated | FleetUpdateFailed))
    assert isinstance(fleet, FleetUpdated), fleet
    for m in machines:  # each reached through the one public URL, by its instance id
        assert fake_fly.calls(m.id, "POST", "/showcase/update_config") == 1
        assert len(m.machine.received) == 1
