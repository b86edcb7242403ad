"""Intake's metrics, read from its own `GET /metrics` after real requests and relay passes.

The registry is process-wide, so every check is a difference: after minus before.
"""

from __future__ import annotations

import httpx
import pytest
from intake.route_deps import RouteDeps

from tests.support.fakes import FakeMailer, FakePipeline
from tests.support.metrics import Samples, moved, parse_samples, sample
from tests.unit.intake.conftest import ADMIN, STUDIO

pytestmark = pytest.mark.asyncio


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return parse_samples(response.text)


async def test_requests_are_counted_by_route_template_and_status_class(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    for request_id in ("a", "b"):  # two raw paths, one route
        assert (await client.get(f"/api/requests/{request_id}", auth=STUDIO)).status_code == 404
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/static/progress.css")).status_code == 200
    assert (await client.get("/no/such/page")).status_code == 404
    after = await scrape(client)
    count = "intake_http_request_seconds_count"
    assert moved(before, after, count, route="/api/requests/{request_id}", status="4xx") == 2
    assert moved(before, after, count, route="/healthz", status="2xx") == 1
    assert moved(before, after, count, route="/static", status="2xx") == 1  # a mount: its prefix
    assert moved(before, after, count, route="unmatched", status="4xx") == 1
    raw_paths = {"/api/requests/a", "/static/progress.css", "/no/such/page"}
    assert not any(value in raw_paths for _, labels in after for _, value in labels)


async def test_created_showcases_by_kind_and_refusals_by_reason(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    ok = await client.post("/api/showcases", json={"name": "A", "location_id": 1}, auth=STUDIO)
    admin = await client.post("/api/showcases", json={"name": "B", "location_id": 2}, auth=ADMIN)
    not_owner = await client.post(
        "/api/showcases", json={"name": "C", "location_id": 2}, auth=STUDIO
    )
    no_name = await client.post("/api/showcases", json={"location_id": 1}, auth=STUDIO)
    bad_password = await client.get("/showcases/new", auth=("studio", "wrong"))
    assert [r.status_code for r in (ok, admin, not_owner, no_name, bad_password)] == [
        201,
        201,
        403,
        422,
        401,
    ]
    after = await scrape(client)
    created = "intake_showcases_created_total"
    assert moved(before, after, created, kind="studio_request") == 1
    assert moved(before, after, created, kind="admin") == 1
    refused = "intake_refusals_total"
    assert moved(before, after, refused, reason="not_owner") == 1
    assert moved(before, after, refused, reason="invalid") == 1
    assert moved(before, after, refused, reason="bad_credentials") == 1


async def test_unsent_outbox_rows_follow_the_bus(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    pipeline.up = False
    for name in ("A", "B"):
        body = {"name": name, "location_id": 1}
        assert (await client.post("/api/showcases", json=body, auth=STUDIO)).status_code == 201
    assert await deps.relay.drain() == 0
    # A gauge the relay sets from this test's own database: its value, not a difference.
    assert sample(await scrape(client), "intake_outbox_unsent") == 2
    pipeline.up = True
    assert await deps.relay.drain() == 2
    assert sample(await scrape(client), "intake_outbox_unsent") == 0


async def test_admin_emails_by_outcome(
    client: httpx.AsyncClient, deps: RouteDeps, mailer: FakeMailer
) -> None:
    before = await scrape(client)
    mailer.up = False
    body = {"name": "Winter Ball", "location_id": 2}
    assert (await client.post("/api/showcases", json=body, auth=ADMIN)).status_code == 201
    assert await deps.mail_relay.drain() == 0
    after = await scrape(client)
    emails = "intake_admin_emails_total"
    assert moved(before, after, emails, outcome="retry") == 1
    assert moved(before, after, emails, outcome="sent") == 0
