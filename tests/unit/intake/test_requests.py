"""Request status (from the gateway's KV state) and retry, with a fake pipeline."""

from __future__ import annotations

import httpx
import pytest
from intake.route_deps import RouteDeps
from showcase_common import events
from showcase_common.progress import RequestProgress

from tests.support.fakes import FakePipeline
from tests.unit.intake.conftest import ADMIN, STUDIO

pytestmark = pytest.mark.asyncio


async def _request(client: httpx.AsyncClient, name: str = "R") -> str:
    body = {"name": name, "location_id": 1}
    response = await client.post("/api/showcases", json=body, auth=STUDIO)
    return response.json()["request_id"]


async def test_status_is_queued_until_the_gateway_has_state(
    client: httpx.AsyncClient, pipeline: FakePipeline
) -> None:
    request_id = await _request(client)
    status = (await client.get(f"/api/requests/{request_id}", auth=STUDIO)).json()
    assert status["request_id"] == request_id
    assert (status["status"], status["progress"], status["step"]) == ("queued", 0, "queued")
    assert "user" not in status

    pipeline.states[request_id] = RequestProgress(
        request_id=request_id, status="processing", progress=30, step="updating", user="studio"
    )
    status = (await client.get(f"/api/requests/{request_id}", auth=ADMIN)).json()
    assert (status["status"], status["progress"]) == ("processing", 30)


async def test_status_falls_back_to_queued_while_nats_is_down(
    client: httpx.AsyncClient, pipeline: FakePipeline
) -> None:
    pipeline.up = False
    request_id = await _request(client)
    response = await client.get(f"/api/requests/{request_id}", auth=STUDIO)
    assert response.status_code == 200 and response.json()["status"] == "queued"
    assert (await client.get("/readyz")).status_code == 503


async def test_retry_is_409_unless_failed(client: httpx.AsyncClient) -> None:
    request_id = await _request(client)
    response = await client.post(f"/api/requests/{request_id}/retry", auth=STUDIO)
    assert response.status_code == 409


async def test_retry_of_a_failed_request_goes_through_the_outbox_once(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    request_id = await _request(client)
    await deps.relay.drain()
    pipeline.states[request_id] = RequestProgress(
        request_id=request_id,
        status="failed",
        progress=47,
        step="failed",
        error="boom",
        failed_step="machines",
        failed_machines=["m2"],
        updated_at="t1",
    )
    first = await client.post(f"/api/requests/{request_id}/retry", auth=STUDIO)
    again = await client.post(f"/api/requests/{request_id}/retry", auth=ADMIN)
    assert first.status_code == again.status_code == 202
    out = first.json()
    assert out["state"]["status"] == "failed"
    assert out["progress"]["ws_url"].endswith(out["progress"]["token"])
    await deps.relay.drain()
    retries = [e for _, e in pipeline.published if isinstance(e, events.MachinesRetryRequested)]
    assert len(retries) == 1
    assert retries[0].machine_ids == ["m2"]  # to the updater: nothing to sync
    assert not [e for _, e in pipeline.published if isinstance(e, events.RetryRequested)]
    assert retries[0].request.request_id == request_id and retries[0].request.user == "studio"
    (action,) = pipeline.actions  # the audit trail: who pressed Retry, once for one failure
    assert (action.action, action.actor, action.via) == ("retry", "studio", "api")
    assert action.details["request_id"] == request_id
    assert action.details["from_step"] == "machines" and action.details["machine_ids"] == ["m2"]


async def test_a_retry_while_nats_is_away_is_kept_though_not_audited(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    request_id = await _request(client)
    await deps.relay.drain()
    pipeline.states[request_id] = RequestProgress(
        request_id=request_id, status="failed", step="failed", failed_step="sync", updated_at="t"
    )
    pipeline.audit_up = False
    response = await client.post(f"/api/requests/{request_id}/retry", auth=ADMIN)
    assert response.status_code == 202  # the retry is in the outbox all the same
    await deps.relay.drain()
    assert [e for _, e in pipeline.published if isinstance(e, events.RetryRequested)]
    assert pipeline.actions == []


async def test_outbox_rows_wait_for_the_bus(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    pipeline.up = False
    ids = [await _request(client, f"R{n}") for n in range(2)]
    assert await deps.relay.drain() == 0
    pipeline.up = True
    assert await deps.relay.drain() == 2
    assert [e.request.request_id for _, e in pipeline.published] == ids  # type: ignore[attr-defined]
