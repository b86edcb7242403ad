"""Post/redirect/get, the request's page, the requests list (HTML and JSON), HTML error pages."""

from __future__ import annotations

import re

import httpx
import pytest
from intake.route_deps import RouteDeps
from showcase_common.progress import RequestProgress

from tests.support.fakes import FakePipeline
from tests.unit.intake.conftest import ADMIN, STUDIO
from tests.unit.intake.helpers import add_user, counts

pytestmark = pytest.mark.asyncio

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def _form_fields(client: httpx.AsyncClient, auth: tuple[str, str] = STUDIO) -> dict[str, str]:
    page = await client.get("/showcases/new", auth=auth)
    fields = dict(
        re.findall(r'type="hidden" name="(csrf_token|form_token)" value="([^"]+)"', page.text)
    )
    assert set(fields) == {"csrf_token", "form_token"}
    return fields


async def _post(
    client: httpx.AsyncClient, fields: dict[str, str], name: str, auth: tuple[str, str] = STUDIO
) -> httpx.Response:
    data = fields | {"name": name, "location_id": "1", "start_date": "2030-05-16"}
    return await client.post("/showcases", data=data, auth=auth)


async def _request_page(client: httpx.AsyncClient, name: str = "Spring Gala") -> str:
    response = await _post(client, await _form_fields(client), name)
    assert response.status_code == 303
    return response.headers["location"]


async def test_the_post_answers_303_and_the_page_can_be_read_again_and_again(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    location = await _request_page(client)
    assert re.fullmatch(r"/requests/[0-9a-f]{32}", location)
    before = counts(deps)
    for _ in range(3):
        page = await client.get(location, auth=STUDIO)
        assert page.status_code == 200
        assert 'data-request-id="' + location.rsplit("/", 1)[1] + '"' in page.text
    assert counts(deps) == before
    html = page.text
    # the page says what was requested, and reloads itself while JavaScript is off
    assert "Spring Gala" in html and "Boston" in html and "2030" in html
    assert "Thursday, May 16, 2030" in html
    assert '<noscript><meta http-equiv="refresh"' in html
    assert "Publishing Spring Gala…" in html


async def test_the_same_form_sent_twice_lands_on_the_same_request(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    fields = await _form_fields(client)
    first = await _post(client, fields, "Double Click")
    before = counts(deps)
    second = await _post(client, fields, "Double Click")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert counts(deps) == before  # no second showcase, request or event

    # the same form, changed after Back and sent again, is a new request
    third = await _post(client, fields, "Double Click Two")
    assert third.status_code == 303 and third.headers["location"] != first.headers["location"]


async def test_only_the_owner_or_an_admin_may_open_the_page(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    location = await _request_page(client)
    add_user(deps, "other", "other-password")
    assert (await client.get(location, auth=("other", "other-password"))).status_code == 404
    assert (await client.get(location, auth=ADMIN)).status_code == 200
    assert (await client.get(location)).status_code == 401
    assert (await client.get("/requests/" + "0" * 32, auth=STUDIO)).status_code == 404


async def test_a_finished_request_shows_its_link_and_a_failed_one_what_failed_and_retry(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    location = await _request_page(client)
    request_id = location.rsplit("/", 1)[1]
    pipeline.states[request_id] = RequestProgress(
        request_id=request_id,
        status="completed",
        progress=100,
        step="done",
        message="Your showcase is live",
        redirect_url="http://fleet.test/showcase/2030/boston/spring-gala/",
        user="studio",
    )
    html = (await client.get(location, auth=STUDIO)).text
    assert "<h1" in html and "Spring Gala is live" in html
    assert 'href="http://fleet.test/showcase/2030/boston/spring-gala/"' in html
    assert 'http-equiv="refresh"' not in html
    assert 'data-initial-status="completed"' in html

    pipeline.states[request_id] = RequestProgress(
        request_id=request_id,
        status="failed",
        progress=40,
        step="failed",
        message="Your showcase could not be published.",
        error="The storage is unavailable. Press Retry.",
        retry_url=f"http://intake.test/api/requests/{request_id}/retry",
        failed_step="sync",
        user="studio",
        updated_at="2030-01-01T00:00:00+00:00",
    )
    html = (await client.get(location, auth=STUDIO)).text
    assert "Spring Gala could not be published" in html
    assert "The storage is unavailable. Press Retry." in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token and f'action="/requests/{request_id}/retry"' in html
    before = counts(deps)["Outbox"]
    retried = await client.post(
        f"/requests/{request_id}/retry", data={"csrf_token": token.group(1)}, auth=STUDIO
    )
    assert retried.status_code == 303 and retried.headers["location"] == location
    assert counts(deps)["Outbox"] == before + 1
    forged = await client.post(
        f"/requests/{request_id}/retry",
        data={"csrf_token": "forged"},
        auth=STUDIO,
        headers={"sec-fetch-site": "cross-site"},
    )
    assert forged.status_code == 403


async def test_the_requests_list_newest_first_admins_see_all_and_filter(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    first = await _request_page(client, "First Show")
    second = await _request_page(client, "Second Show")
    html = (await client.get("/requests", auth=STUDIO)).text
    assert html.index(second) < html.index(first)  # newest first, each linking to its page
    assert "First Show" in html and "Boston" in html and "queued" in html

    add_user(deps, "other", "other-password")
    assert (
        "First Show" not in (await client.get("/requests", auth=("other", "other-password"))).text
    )
    admin = (await client.get("/requests?location=boston", auth=ADMIN)).text
    assert "First Show" in admin and "Second Show" in admin
    assert "First Show" not in (await client.get("/requests?location=chicago", auth=ADMIN)).text
    assert "First Show" not in (await client.get("/requests?state=completed", auth=ADMIN)).text
    assert (await client.get("/requests?state=bogus", auth=ADMIN)).status_code == 422

    listing = (await client.get("/api/requests", auth=STUDIO)).json()
    assert [r["showcase"] for r in listing["requests"]] == ["Second Show", "First Show"]
    assert listing["total"] == 2 and listing["pages"] == 1
    row = listing["requests"][0]
    assert row["page_url"] == second and row["status"] == "queued" and row["duration_s"] is None
    assert row["location"] == "Boston Dance Studio" and row["location_key"] == "boston"
    paged = (await client.get("/api/requests?per_page=1&page=2", auth=STUDIO)).json()
    assert [r["showcase"] for r in paged["requests"]] == ["First Show"] and paged["pages"] == 2


async def test_browsers_get_an_html_404_and_api_clients_json(client: httpx.AsyncClient) -> None:
    page = await client.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "Page not found" in page.text and 'href="/requests"' in page.text
    api = await client.get("/api/no-such", headers=BROWSER)
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    anonymous = await client.get("/requests", headers=BROWSER)
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    root = await client.get("/")
    assert root.status_code == 303 and root.headers["location"] == "/requests"
