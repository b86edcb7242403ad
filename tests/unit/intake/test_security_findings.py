"""Issue 17's smaller findings in intake, each a test that failed before its fix: any user could
list any location's events; the retry POST had no CSRF check; the flash cookie lacked Secure;
there was no HSTS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from intake.route_deps import RouteDeps
from intake.seed import seed
from showcase_common.progress import RequestProgress

from tests.support.fakes import FakePipeline
from tests.unit.intake.conftest import ADMIN, STUDIO, in_process, make_settings


async def test_a_studio_lists_only_the_events_of_locations_it_may_act_for(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/locations/boston/events", auth=STUDIO)).status_code == 200
    other = await client.get("/locations/chicago/events", auth=STUDIO)
    assert other.status_code == 404  # as a missing location: nothing to probe
    assert (await client.get("/locations/chicago/events", auth=ADMIN)).status_code == 200


async def _failed_request(client: httpx.AsyncClient, pipeline: FakePipeline) -> str:
    answer = await client.post("/api/showcases", json={"name": "X", "location_id": 1}, auth=STUDIO)
    request_id: str = answer.json()["request_id"]
    pipeline.states[request_id] = RequestProgress(
        request_id=request_id, status="failed", step="failed", failed_step="sync", updated_at="t"
    )
    return request_id


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": "forged.1.x"},
    ],
)
async def test_another_sites_retry_post_is_refused_and_enqueues_nothing(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline, headers: dict[str, str]
) -> None:
    request_id = await _failed_request(client, pipeline)
    await deps.relay.drain()
    before = len(pipeline.published)
    refused = await client.post(f"/api/requests/{request_id}/retry", auth=STUDIO, headers=headers)
    assert refused.status_code == 403
    await deps.relay.drain()
    assert len(pipeline.published) == before


async def test_the_progress_page_and_scripts_may_still_retry(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    request_id = await _failed_request(client, pipeline)
    same_site = {"Sec-Fetch-Site": "same-origin", "Origin": "http://intake.test"}
    answer = await client.post(f"/api/requests/{request_id}/retry", auth=STUDIO, headers=same_site)
    assert answer.status_code == 202
    token = deps.csrf.sign("studio")
    cross_with_token = {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": token}
    answer = await client.post(
        f"/api/requests/{request_id}/retry", auth=STUDIO, headers=cross_with_token
    )
    assert answer.status_code == 202


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {v.split("=", 1)[0]: v for v in response.headers.get_list("set-cookie")}


async def test_cookies_are_secure_outside_the_dev_run(client: httpx.AsyncClient) -> None:
    form = {"name": "Y", "location_id": "1", "year": "2026"}
    created = await client.post("/showcases", data=form, auth=ADMIN, follow_redirects=False)
    assert created.status_code == 303
    cookies = _set_cookies(created)
    assert "Secure" in cookies["flash"] and "HttpOnly" in cookies["flash"]
    assert "Secure" in cookies["known_device"] and "HttpOnly" in cookies["known_device"]


@pytest.fixture
async def dev_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = make_settings(tmp_path, showcase_dev_mode=True)
    seed(settings.index_db_path)
    app = in_process(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_dev_run_over_http_has_plain_cookies_and_no_hsts(dev_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=dev_app)
    async with httpx.AsyncClient(transport=transport, base_url="https://intake.test") as client:
        form = {"name": "Z", "location_id": "1", "year": "2026"}
        created = await client.post("/showcases", data=form, auth=ADMIN, follow_redirects=False)
    assert "Secure" not in _set_cookies(created)["flash"]
    assert "strict-transport-security" not in created.headers


async def test_https_answers_carry_hsts_outside_the_dev_run(app: FastAPI) -> None:
    for base, expected in [("https://intake.test", True), ("http://intake.test", False)]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            answer = await client.get("/healthz")
        assert ("strict-transport-security" in answer.headers) is expected
        if expected:
            assert answer.headers["strict-transport-security"] == "max-age=31536000"


async def test_behind_a_trusted_proxy_its_https_counts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, intake_trusted_proxies="127.0.0.0/8")
    seed(settings.index_db_path)
    app = in_process(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
            proxied = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["strict-transport-security"] == "max-age=31536000"
