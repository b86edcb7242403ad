"""The admin page through `build(settings, FakeIntakePorts(...))` with fakes (FakePipeline, FakeFleetDesk): who may open it,
what it shows, and its buttons — Pause/Resume, Retry, Apply — each audited with the admin."""

from __future__ import annotations

import re

import httpx
import pytest
from intake.models import Outbox, Request
from intake.route_deps import RouteDeps
from intake.showcases_file import index_showcases_yml
from showcase_common import events
from showcase_common.audit import OperatorAction, RecordedAction
from showcase_common.fleet_status import Machine, MachineStatus, PinView
from showcase_common.progress import RequestProgress
from sqlmodel import select

from tests.support.fakes import FakeFleetDesk, FakePipeline
from tests.unit.intake.conftest import ADMIN, STUDIO

pytestmark = pytest.mark.asyncio


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page's forms carry a CSRF token"
    return found.group(1)


async def _page(client: httpx.AsyncClient) -> str:
    response = await client.get("/admin", auth=ADMIN, headers={"accept": "text/html"})
    assert response.status_code == 200, response.text
    return response.text


async def _post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    token = _token(await _page(client))
    return await client.post(path, data={"csrf_token": token, **data}, auth=ADMIN)


async def _studio_request(client: httpx.AsyncClient, name: str = "Spring Showcase") -> str:
    body = {"name": name, "location_id": 1, "start_date": "2030-05-16"}
    response = await client.post("/api/showcases", json=body, auth=STUDIO)
    assert response.status_code == 201, response.text
    return str(response.json()["request_id"])


async def test_anonymous_is_asked_to_log_in_and_a_studio_is_refused(
    client: httpx.AsyncClient, fleet: FakeFleetDesk
) -> None:
    anonymous = await client.get("/admin")
    assert anonymous.status_code == 401 and "basic" in anonymous.headers["www-authenticate"].lower()
    studio = await client.get("/admin", auth=STUDIO, headers={"accept": "text/html"})
    assert studio.status_code == 403 and "Not allowed" in studio.text
    assert (await client.get("/admin/status.json", auth=STUDIO)).status_code == 403
    assert (await client.post("/admin/pause", data={}, auth=STUDIO)).status_code == 403
    assert fleet.control.state is None


async def test_the_page_shows_machines_pause_pin_and_actions(
    client: httpx.AsyncClient, fleet: FakeFleetDesk
) -> None:
    fleet.newest = 7
    fleet.listed.machines = [
        MachineStatus(Machine("local-1", "iad", "http://a"), 7),
        MachineStatus(Machine("local-2", "ord", "http://b"), 6),
        MachineStatus(Machine("local-3", "sjc", "http://c"), None, "ConnectError: refused"),
    ]
    fleet.actions = [
        RecordedAction(1, OperatorAction(action="rollback", actor="alice", reason="bad css")),
        RecordedAction(2, OperatorAction(action="pause", actor="bob", reason="maintenance")),
    ]
    html = await _page(client)
    for heading in ("Fleet", "Not yet live on the fleet", "Requests", "Last operator actions"):
        assert f">{heading}</h2>" in html
    assert "Roll-outs are running" in html and "Pause roll-outs" in html
    assert re.search(r'data-machine="local-2" class="problem">.*?BEHIND', html, re.S)
    assert re.search(r'data-machine="local-1" class="ok">.*?up to date', html, re.S)
    assert "unreachable: ConnectError: refused" in html
    assert html.index('data-seq="2"') < html.index('data-seq="1"')  # newest first
    assert "maintenance" in html

    fleet.pin = PinView(5, True, "alice", "bad css")
    body = (await client.get("/admin/status.json", auth=ADMIN)).json()
    assert body["pinned"] and body["pin"]["generation"] == 5
    assert [m["state"] for m in body["machines"]] == [
        "NOT ON THE PIN",
        "NOT ON THE PIN",
        "unreachable: ConnectError: refused",
    ]
    assert "pinned</strong> to generation 5 by alice" in body["html"]["fleet"]
    assert set(body["html"]) == {"fleet", "pending", "requests", "actions"}


async def test_pause_from_the_page_is_recorded_with_the_admin_and_is_idempotent(
    client: httpx.AsyncClient, fleet: FakeFleetDesk, pipeline: FakePipeline
) -> None:
    response = await _post(client, "/admin/pause", reason="prerender broken on iad")
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    assert fleet.control.state is not None
    assert (fleet.control.state.paused_by, fleet.control.state.reason) == (
        "admin",
        "prerender broken on iad",
    )
    (action,) = pipeline.actions
    assert (action.action, action.actor, action.via, action.reason) == (
        "pause",
        "admin",
        "web",
        "prerender broken on iad",
    )
    flash = {"cookie": f"flash={response.cookies['flash']}"}  # Secure: httpx keeps it off http
    html = (await client.get("/admin", auth=ADMIN, headers=flash)).text
    assert "Paused: no machine is updated" in html  # the flash says what happened
    assert "Roll-outs are paused" in html and "Resume roll-outs" in html

    again = await _post(client, "/admin/pause", reason="again")
    assert (
        again.status_code == 303 and len(pipeline.actions) == 1
    )  # nothing changed, nothing recorded

    resumed = await _post(client, "/admin/resume", reason="fixed")
    assert resumed.status_code == 303 and fleet.control.state is None
    assert [(a.action, a.actor) for a in pipeline.actions] == [
        ("pause", "admin"),
        ("resume", "admin"),
    ]
    refused = await _post(client, "/admin/resume")  # not paused: said, nothing recorded
    assert refused.status_code == 303 and len(pipeline.actions) == 2


async def test_a_cross_site_post_without_a_token_changes_nothing(
    client: httpx.AsyncClient, fleet: FakeFleetDesk, pipeline: FakePipeline
) -> None:
    response = await client.post(
        "/admin/pause", data={"reason": "x"}, auth=ADMIN, headers={"sec-fetch-site": "cross-site"}
    )
    assert response.status_code == 403
    assert fleet.control.state is None and pipeline.actions == []


async def test_nats_away_the_page_says_so_and_pause_is_a_503_changing_nothing(
    client: httpx.AsyncClient, fleet: FakeFleetDesk, pipeline: FakePipeline
) -> None:
    fleet.up = False
    body = (await client.get("/admin/status.json", auth=ADMIN)).json()
    assert any("NATS cannot be reached" in p for p in body["problems"])
    response = await _post(client, "/admin/pause", reason="x")
    assert response.status_code == 503 and "nothing changed" in response.text
    assert fleet.control.state is None and pipeline.actions == []


async def test_requests_are_grouped_by_their_live_state_and_a_failed_one_can_be_retried(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    waiting = await _studio_request(client, "Waiting One")
    running = await _studio_request(client, "Running One")
    failed = await _studio_request(client, "Failed One")
    await deps.relay.drain()
    pipeline.states[running] = RequestProgress(request_id=running, status="processing", progress=47)
    pipeline.states[failed] = RequestProgress(
        request_id=failed,
        status="failed",
        step="failed",
        error="ord did not answer",
        failed_step="sync",
        updated_at="2030-05-16T10:00:00+00:00",
    )
    body = (await client.get("/admin/status.json", auth=ADMIN)).json()
    ids = {k: [r["request_id"] for r in v] for k, v in body["requests"].items()}
    assert ids == {"waiting": [waiting], "running": [running], "failed": [failed]}
    assert body["requests"]["failed"][0]["error"] == "ord did not answer"
    assert f'action="/admin/requests/{failed}/retry"' in body["html"]["requests"]
    assert 'aria-label="Retry Failed One (' in body["html"]["requests"]

    response = await _post(client, f"/admin/requests/{failed}/retry")
    assert response.status_code == 303
    await deps.relay.drain()
    retries = [e for _, e in pipeline.published if isinstance(e, events.RetryRequested)]
    assert [r.request.request_id for r in retries] == [failed]
    (action,) = pipeline.actions
    assert (action.action, action.actor, action.via) == ("retry", "admin", "web")
    assert action.details["owner"] == "studio"
    assert (await _post(client, f"/admin/requests/{running}/retry")).status_code == 409


async def test_apply_rolls_the_admins_showcase_out_as_a_tracked_request_once(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    deps.settings.deployed_showcases_file.write_text(_deployed_now(deps))
    body = {"name": "Admin Gala", "location_id": 1, "start_date": "2030-06-01"}
    created = await client.post("/api/showcases", json=body, auth=ADMIN)
    assert created.status_code == 201 and created.json()["request_id"] is None  # no automation
    pending = (await client.get("/admin/status.json", auth=ADMIN)).json()["pending"]
    assert [e["name"] for e in pending["added"]] == ["Admin Gala"]
    assert pending["removed"] == pending["changed"] == pending["moved"] == []

    response = await _post(client, "/admin/apply", reason="the gala")
    assert response.status_code == 303
    request_id = response.headers["location"].removeprefix("/requests/")
    with deps.db.session() as session:
        request = session.get(Request, request_id)
        assert request is not None and request.showcase_id == created.json()["showcase"]["id"]
        rows = session.exec(select(Outbox).where(Outbox.request_id == request_id)).all()
    assert [r.subject for r in rows] == [events.ShowcaseCreated.subject]
    (action,) = pipeline.actions
    assert (action.action, action.actor, action.via, action.reason) == (
        "apply",
        "admin",
        "web",
        "the gala",
    )
    assert action.details["request_id"] == request_id and action.details["added"] == 1
    page = await client.get(response.headers["location"], auth=ADMIN)
    assert page.status_code == 200 and 'id="progress"' in page.text  # the progress page

    again = await _post(client, "/admin/apply")  # a second press: the same request
    assert again.headers["location"] == response.headers["location"]
    assert len(pipeline.actions) == 1
    with deps.db.session() as session:
        assert len(session.exec(select(Request)).all()) == 1


async def test_apply_with_nothing_pending_says_so_and_creates_nothing(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    deps.settings.deployed_showcases_file.write_text(_deployed_now(deps))
    html = await _page(client)
    assert "nothing to apply" in html and 'action="/admin/apply"' not in html
    response = await _post(client, "/admin/apply")
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    assert pipeline.actions == []
    with deps.db.session() as session:
        assert session.exec(select(Request)).all() == []


def _deployed_now(deps: RouteDeps) -> str:
    """What a roll-out now would leave: showcases.yml as the index renders it."""
    with deps.db.session() as session:
        return index_showcases_yml(session)
