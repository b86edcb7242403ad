"""The admin page over real intake and a real nats-server that gives each service only its own
permissions (`showcase_common.roles`): intake logs in as `intake`, the operator as `showcasectl`.

The page's reads (the pause, the pin, the newest generation, the last actions) and its buttons
(Pause and Resume into KV `fleet_control`, Apply and Retry through the outbox) work under
intake's least privilege, and each button leaves an audit record naming the admin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import nats
import pytest
from devstack.servers import NatsServer
from fastapi import FastAPI
from intake.bootstrap import ports
from intake.models import Request
from intake.seed import seed
from nats.js.api import RawStreamMsg
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from showcase_common import events, subjects
from showcase_common.audit import AuditLog, recent_actions
from showcase_common.bus import Publisher
from showcase_common.fleet_control import KvFleetControl
from showcase_common.operator_actions import pause
from showcase_common.progress import RequestProgress
from showcase_common.roles import ROLES, users_conf

from tests.integration.intake.conftest import real_settings
from tests.support.waiting import eventually
from tests.unit.intake.conftest import ADMIN, STUDIO, in_process

pytestmark = pytest.mark.asyncio

PASSWORDS = {r.user: f"{r.user}-password-0123456789" for r in ROLES}


@pytest.fixture
def auth_nats(tmp_path: Path) -> Iterator[NatsServer]:
    conf = tmp_path / "auth.conf"
    conf.write_text(users_conf(PASSWORDS))
    server = NatsServer(tmp_path / "nats", config=conf)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _url(server: NatsServer, user: str) -> str:
    return server.url.replace("nats://", f"nats://{user}:{PASSWORDS[user]}@")


@pytest.fixture
async def operator(auth_nats: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(_url(auth_nats, "showcasectl"))
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


@pytest.fixture
async def app(tmp_path: Path, auth_nats: NatsServer) -> AsyncIterator[FastAPI]:
    settings = real_settings(tmp_path, _url(auth_nats, "intake"))
    seed(settings.index_db_path)
    app = in_process(settings, ports(settings), background=True)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
        yield client


async def _status(client: httpx.AsyncClient) -> dict:
    response = await client.get("/admin/status.json", auth=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def _connected(client: httpx.AsyncClient) -> dict:
    """The page's figures once intake's NATS link is up (the page says so until then)."""
    found: dict = {}

    async def up() -> bool:
        found.update(await _status(client))
        return not found["problems"]

    await eventually(up, 30, "intake's NATS link up")
    return found


async def _post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    page = await client.get("/admin", auth=ADMIN)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return await client.post(path, data={"csrf_token": token.group(1), **data}, auth=ADMIN)


async def test_only_admins_open_it(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin")).status_code == 401
    assert (await client.get("/admin", auth=STUDIO)).status_code == 403
    html = (await client.get("/admin", auth=ADMIN)).text
    assert "<h1>Roll-outs</h1>" in html


async def test_pause_lands_in_kv_and_the_audit_trail_with_the_admin(
    client: httpx.AsyncClient, operator: JetStreamContext
) -> None:
    await _connected(client)
    response = await _post(client, "/admin/pause", reason="prerender broken on iad")
    assert response.status_code == 303
    state = await KvFleetControl(operator).pause_state()  # what the updater reads
    assert state is not None and (state.paused_by, state.reason) == (
        "admin",
        "prerender broken on iad",
    )
    (recorded,) = await recent_actions(operator, 10)
    assert (recorded.action.action, recorded.action.actor, recorded.action.via) == (
        "pause",
        "admin",
        "web",
    )
    shown = await _status(client)
    assert shown["paused"] and shown["pause"]["reason"] == "prerender broken on iad"
    assert [a["action"] for a in shown["actions"]] == ["pause"]

    # the operator resumes from the command line's code: the page shows it at its next poll
    resumed = await _post(client, "/admin/resume", reason="fixed")
    assert resumed.status_code == 303
    assert await KvFleetControl(operator).pause_state() is None
    await pause(KvFleetControl(operator), AuditLog(operator).record, "alice", "from the shell")
    shown = await _status(client)
    assert shown["paused"] and shown["pause"]["paused_by"] == "alice"
    assert [(a["action"], a["actor"]) for a in shown["actions"]] == [
        ("pause", "alice"),
        ("resume", "admin"),
        ("pause", "admin"),
    ]


async def test_the_pin_and_newest_generation_come_from_the_stream(
    client: httpx.AsyncClient, operator: JetStreamContext
) -> None:
    await _connected(client)
    snapshot = events.Snapshot(generation=4, object_key="db/4", sha256="0" * 64, size=1)
    older = snapshot.model_copy(update={"generation": 2, "object_key": "db/2"})
    publisher = Publisher(operator)
    await publisher.publish(events.IndexSynced(snapshot=snapshot, requests=[]))
    assert (await _status(client))["newest_generation"] == 4
    await publisher.publish(events.RollbackRequested(snapshot=older, actor="alice", reason="css"))
    shown = await _status(client)
    assert shown["pin"] == {
        "generation": 2,
        "hold": False,
        "by": "alice",
        "reason": "css",
        "at": shown["pin"]["at"],
    }


async def test_apply_creates_a_tracked_request_on_the_bus_audited_as_apply(
    client: httpx.AsyncClient, app: FastAPI, operator: JetStreamContext
) -> None:
    await _connected(client)
    body = {"name": "Admin Gala", "location_id": 1, "start_date": "2030-06-01"}
    created = await client.post("/api/showcases", json=body, auth=ADMIN)
    assert created.status_code == 201 and created.json()["request_id"] is None
    assert [e["name"] for e in (await _status(client))["pending"]["added"]][-1] == "Admin Gala"

    response = await _post(client, "/admin/apply", reason="gala tonight")
    assert response.status_code == 303
    request_id = response.headers["location"].removeprefix("/requests/")
    msg = await _published(operator, subjects.SHOWCASE_CREATED)  # the relay sent it
    event = events.decode(msg.subject or "", msg.data or b"")
    assert isinstance(event, events.ShowcaseCreated)
    assert event.request.request_id == request_id and event.request.user == "admin"
    assert event.request.showcase.name == "Admin Gala"
    (recorded,) = await recent_actions(operator, 10)
    assert (recorded.action.action, recorded.action.actor) == ("apply", "admin")
    assert recorded.action.details["request_id"] == request_id
    # tracked: the admin's request has its status URL and page, like a studio's
    status = await client.get(f"/api/requests/{request_id}", auth=ADMIN)
    assert status.status_code == 200 and status.json()["request_id"] == request_id
    with app.state.route_deps.db.session() as session:
        assert session.get(Request, request_id) is not None


async def test_retry_of_a_failed_request_from_the_page(
    client: httpx.AsyncClient, operator: JetStreamContext
) -> None:
    await _connected(client)
    body = {"name": "Spring Showcase", "location_id": 1, "start_date": "2030-05-16"}
    request_id = (await client.post("/api/showcases", json=body, auth=STUDIO)).json()["request_id"]
    await _published(operator, subjects.SHOWCASE_CREATED)
    failed = RequestProgress(
        request_id=request_id,
        status="failed",
        step="failed",
        error="Your showcase could not be sent to the regions that serve it.",
        failed_step="sync",
        user="studio",
        updated_at="2030-05-16T10:00:00+00:00",
    )
    kv = await operator.create_key_value(bucket=subjects.REQUEST_STATE_BUCKET)  # the gateway's
    await kv.put(request_id, failed.model_dump_json().encode())
    shown = await _status(client)
    assert [r["request_id"] for r in shown["requests"]["failed"]] == [request_id]

    response = await _post(client, f"/admin/requests/{request_id}/retry")
    assert response.status_code == 303
    msg = await _published(operator, subjects.RETRY_REQUESTED)
    event = events.decode(msg.subject or "", msg.data or b"")
    assert isinstance(event, events.RetryRequested) and event.request.request_id == request_id
    (recorded,) = await recent_actions(operator, 10)
    assert (recorded.action.action, recorded.action.actor) == ("retry", "admin")
    assert recorded.action.details["owner"] == "studio"


async def _published(js: JetStreamContext, subject: str) -> RawStreamMsg:
    """The last message on `subject`, once there is one (the outbox relay publishes it)."""
    found: list[RawStreamMsg] = []

    async def there() -> bool:
        try:
            found.append(await js.get_last_msg(subjects.STREAM, subject))
        except NotFoundError:
            return False
        return True

    await eventually(there, 30, f"a message on {subject}")
    return found[-1]
