"""The fleet and machine-client adapters over httpx.MockTransport (no network)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from machine_updater.client import HttpMachineClient, MachineError, MachineRefused, Updated
from machine_updater.fleet import FleetError, FlyFleet, Machine, StaticFleet
from showcase_common.events import Snapshot
from showcase_common.fly import FORCE_INSTANCE_HEADER
from showcase_common.replay import PageAnswer

SNAPSHOT = Snapshot(generation=7, object_key="db/g7", sha256="a" * 64, size=10)


def fly_machine(mid: str, state: str, region: str = "iad") -> dict[str, object]:
    return {"id": mid, "name": f"app-{mid}", "state": state, "region": region, "config": {}}


async def test_fly_fleet_lists_machines_with_bearer_auth_and_routes_through_the_app() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = [fly_machine("e1", "started"), fly_machine("e2", "stopped", "ord")]
        return httpx.Response(200, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        fleet = FlyFleet(
            http, api_url="http://fly", app_name="app", token="tok", app_url="http://app/"
        )
        machines = await fleet.machines()
    assert str(seen[0].url) == "http://fly/v1/apps/app/machines"
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert [(m.id, m.active, m.url) for m in machines] == [
        ("e1", True, "http://app"),
        ("e2", False, "http://app"),
    ]
    assert machines[0].headers == {FORCE_INSTANCE_HEADER: "e1"}


async def test_fly_fleet_refused_is_a_fleet_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(401, json={"error": "no"}))
    async with httpx.AsyncClient(transport=transport) as http:
        fleet = FlyFleet(http, api_url="http://fly", app_name="a", token="bad", app_url="http://a")
        with pytest.raises(FleetError):
            await fleet.machines()


async def test_static_fleet_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "machines:\n  - {id: local-1, region: iad, url: 'http://127.0.0.1:8101/'}\n"
        "  - {id: local-2, region: ord, url: 'http://127.0.0.1:8102', state: stopped}\n"
    )
    machines = await StaticFleet(path).machines()
    assert [(m.id, m.url, m.active) for m in machines] == [
        ("local-1", "http://127.0.0.1:8101", True),
        ("local-2", "http://127.0.0.1:8102", False),
    ]
    with pytest.raises(FleetError):
        await StaticFleet(tmp_path / "missing.yaml").machines()


def test_the_local_fleet_file_names_three_machines() -> None:
    import yaml

    data = yaml.safe_load(Path("deploy/fleet.local.yaml").read_text())
    assert [m["id"] for m in data["machines"]] == ["local-1", "local-2", "local-3"]


def agent(handler):
    return HttpMachineClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), "s3cret")


MACHINE = Machine("e1", "iad", "http://app", headers={FORCE_INSTANCE_HEADER: "e1"})


async def test_update_sends_secret_snapshot_and_instance_header() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"machine_id": "e1", "generation": 7, "changed": True})

    assert await agent(answer).update(MACHINE, SNAPSHOT) == Updated(7)
    request = seen[0]
    assert request.url.path == "/showcase/update_config"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers[FORCE_INSTANCE_HEADER] == "e1"
    assert json.loads(request.content) == SNAPSHOT.model_dump()


@pytest.mark.parametrize(
    ("timings", "apply_s"),
    [({"download": 0.1, "total": 0.42}, 0.42), ({}, 0.0), (None, 0.0), ({"total": "soon"}, 0.0)],
)
async def test_the_machines_own_apply_time_is_read_from_its_answer(timings, apply_s) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"generation": 7, "changed": True, "timings": timings})

    assert (await agent(answer).update(MACHINE, SNAPSHOT)).apply_s == apply_s


async def test_a_slow_update_is_waited_for_while_the_machine_answers_its_status() -> None:
    asked: list[str] = []
    update_answered = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/showcase/status":
            if asked.count("/showcase/status") == 3:
                update_answered.set()  # alive through three probes, then done
            return httpx.Response(200, json={"generation": 6})
        await update_answered.wait()
        return httpx.Response(200, json={"generation": 7, "changed": True})

    client = HttpMachineClient(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)), "s3cret", probe_timeout_s=0.01
    )
    assert await client.update(MACHINE, SNAPSHOT) == Updated(7)
    assert asked[0] == "/showcase/update_config" and asked.count("/showcase/status") == 3


async def test_a_hung_update_is_given_up_when_the_status_cannot_answer_either() -> None:
    cancelled = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/showcase/status":
            raise httpx.ReadTimeout("hung", request=request)
        try:
            await asyncio.Event().wait()  # never answers
        finally:
            cancelled.set()
        raise AssertionError("unreachable")

    client = HttpMachineClient(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)), "s3cret", probe_timeout_s=0.01
    )
    with pytest.raises(MachineError) as hung:
        await client.update(MACHINE, SNAPSHOT)
    assert hung.value.reason == "timeout" and hung.value.retryable
    assert "did not answer in time (GET /showcase/status" in str(hung.value)
    assert cancelled.is_set()  # the update call was dropped, not left running


async def test_update_names_the_new_showcases_only_when_there_are_some() -> None:
    bodies: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"generation": 7})

    await agent(answer).update(MACHINE, SNAPSHOT, [12, 3, 12])
    await agent(answer).update(MACHINE, SNAPSHOT)
    assert bodies == [SNAPSHOT.model_dump() | {"showcase_ids": [3, 12]}, SNAPSHOT.model_dump()]


async def test_a_failure_carries_the_agents_detail_whole() -> None:
    tail = "\n".join(f"line {i}" for i in range(20))
    detail = f"command 1 of 1 (prerender) exited 1; the last lines of its output:\n{tail}"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"detail": detail, "generation": 3})

    with pytest.raises(MachineError) as failed:
        await agent(answer).update(MACHINE, SNAPSHOT)
    assert failed.value.retryable
    assert str(failed.value).endswith(f"update_config answered 500: {detail})")


async def test_conflict_means_the_machine_serves_a_newer_generation() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/showcase/status":
            return httpx.Response(200, json={"generation": 9})
        return httpx.Response(409, json={"detail": "older generation"})

    assert await agent(answer).update(MACHINE, SNAPSHOT) == Updated(9, applied=False)


async def test_the_agents_own_page_check_and_no_op_come_back_with_the_generation() -> None:
    pages = {
        "/showcase/2026/boston/spring/": {"status": 200, "replay_region": None},
        "/showcase/2026/paris/gala/": {"status": 307, "replay_region": "cdg"},
        "/showcase/2026/x/bad/": {"status": "200"},  # not well formed: left out, asked instead
        "/showcase/2026/x/worse/": "200",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"generation": 7, "changed": False, "pages": pages})

    assert await agent(answer).update(MACHINE, SNAPSHOT) == Updated(
        7,
        applied=False,
        pages={
            "/showcase/2026/boston/spring/": PageAnswer(200),
            "/showcase/2026/paris/gala/": PageAnswer(307, "cdg"),
        },
    )


@pytest.mark.parametrize(("code", "error"), [(401, MachineRefused), (422, MachineRefused)])
async def test_refusals_are_permanent(code: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        await agent(lambda r: httpx.Response(code, text="no")).update(MACHINE, SNAPSHOT)


async def test_store_down_and_unreachable_are_retryable() -> None:
    with pytest.raises(MachineError) as down:
        await agent(lambda r: httpx.Response(503, text="s3 down")).update(MACHINE, SNAPSHOT)
    assert down.value.retryable

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(MachineError) as gone:
        await agent(unreachable).status(MACHINE)
    assert gone.value.retryable and "could not be reached" in str(gone.value)


def _timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("slow", request=request)


def _refused_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (lambda r: httpx.Response(500, json={"detail": "prerender exited 1"}), "command_failed"),
        (lambda r: httpx.Response(503, json={"detail": "s3 down"}), "storage_unavailable"),
        (lambda r: httpx.Response(504, json={"detail": "commands timed out"}), "timeout"),
        (lambda r: httpx.Response(401, text="no"), "machine_refused"),
        (lambda r: httpx.Response(422, text="bad snapshot"), "machine_refused"),
        (lambda r: httpx.Response(502, text="bad gateway"), "unknown"),
        (_timed_out, "timeout"),
        (_refused_connection, "machine_unreachable"),
    ],
)
async def test_each_failure_carries_its_reason_code(answer, reason: str) -> None:
    with pytest.raises(MachineError) as failed:
        await agent(answer).update(MACHINE, SNAPSHOT)
    assert failed.value.reason == reason


async def test_static_fleet_reads_the_file_again_only_when_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("machines:\n  - {id: a, region: iad, url: 'http://a'}\n")
    fleet = StaticFleet(path)
    first = await fleet.machines()
    assert [m.id for m in first] == ["a"]
    path.write_text("machines:\n  - {id: b, region: ord, url: 'http://b'}\n  - {id: c, url: x}\n")
    assert [m.id for m in await fleet.machines()] == ["b", "c"]
    path.write_text("machines: [")
    with pytest.raises(FleetError):
        await fleet.machines()
