"""The outbox relay against a real nats-server that goes away during submissions."""

from __future__ import annotations

import httpx
import nats
from fastapi import FastAPI
from intake.models import Outbox
from showcase_common import events, subjects
from showcase_common.bus import ensure_kv
from showcase_common.progress import RequestProgress
from sqlmodel import select

from tests.support.servers import NatsHandle
from tests.support.waiting import eventually
from tests.unit.intake.conftest import STUDIO, deps_of


async def _stream_request_ids(url: str) -> list[str]:
    """Every ShowcaseCreated in the stream, in order (duplicates would show twice)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(subjects.STREAM)
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(subjects.STREAM, seq)
            event = events.decode(msg.subject or "", msg.data or b"")
            if isinstance(event, events.ShowcaseCreated):
                found.append(event.request.request_id)
        return found
    finally:
        await nc.close()


async def _submit(client: httpx.AsyncClient, name: str) -> str:
    response = await client.post(
        "/api/showcases", json={"name": name, "location_id": 1}, auth=STUDIO
    )
    assert response.status_code == 201, response.text
    return response.json()["request_id"]


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


async def test_requests_reach_the_stream_exactly_once_across_an_outage(
    running_app: FastAPI, client: httpx.AsyncClient, nats_server: NatsHandle
) -> None:
    await eventually(lambda: _ready(client))
    before = [await _submit(client, f"Before {n}") for n in range(2)]

    async def delivered(ids: list[str]) -> bool:
        return sorted(await _stream_request_ids(nats_server.url)) == sorted(ids)

    await eventually(lambda: delivered(before))

    nats_server.stop()
    during = [await _submit(client, f"During {n}") for n in range(3)]
    assert not await _ready(client)
    for request_id in during:
        status = await client.get(f"/api/requests/{request_id}", auth=STUDIO)
        assert status.json()["status"] == "queued"

    nats_server.start()
    await eventually(lambda: delivered(before + during))
    assert sorted(await _stream_request_ids(nats_server.url)) == sorted(before + during)
    with deps_of(running_app).db.session() as session:
        assert all(row.sent_at is not None for row in session.exec(select(Outbox)))


async def test_status_comes_from_the_gateways_kv_bucket(
    client: httpx.AsyncClient, nats_server: NatsHandle
) -> None:
    await eventually(lambda: _ready(client))
    request_id = await _submit(client, "Watched")
    nc = await nats.connect(nats_server.url)
    kv = await ensure_kv(nc.jetstream(), subjects.REQUEST_STATE_BUCKET)
    state = RequestProgress(
        request_id=request_id, status="processing", progress=30, step="updating", user="studio"
    )
    await kv.put(request_id, state.model_dump_json().encode())
    await nc.close()
    response = await client.get(f"/api/requests/{request_id}", auth=STUDIO)
    assert response.json() == state.public()


async def test_showcases_yml_is_rewritten_after_a_change(
    running_app: FastAPI, client: httpx.AsyncClient
) -> None:
    path = deps_of(running_app).settings.showcases_yml_path

    async def listed() -> bool:
        return path.exists() and "name: Late Summer" in path.read_text()

    await _submit(client, "Late Summer")
    await eventually(listed)
