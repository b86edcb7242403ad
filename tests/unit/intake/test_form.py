"""The HTML form: progress page, admin redirect, 422 re-render, CSRF, return_to."""

from __future__ import annotations

import re

import httpx
import pytest
from intake.route_deps import RouteDeps

from tests.support.fakes import FakeMailer
from tests.unit.intake.conftest import ADMIN, STUDIO
from tests.unit.intake.helpers import counts

pytestmark = pytest.mark.asyncio


async def _token(client: httpx.AsyncClient, auth=STUDIO) -> str:
    page = await client.get("/showcases/new", auth=auth)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def _submit(client: httpx.AsyncClient, data: dict, auth=STUDIO, **kw) -> httpx.Response:
    data = {"csrf_token": await _token(client, auth)} | data
    return await client.post("/showcases", data=data, auth=auth, **kw)


def _attr(html: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', html)
    assert match, name
    return match.group(1)


async def test_form_lists_only_the_users_locations(client: httpx.AsyncClient) -> None:
    studio = (await client.get("/showcases/new", auth=STUDIO)).text
    admin = (await client.get("/showcases/new", auth=ADMIN)).text
    assert "Boston" in studio and "Chicago" not in studio
    assert "Boston" in admin and "Chicago" in admin and "Raleigh" in admin


async def test_regular_user_is_sent_to_the_progress_page(client: httpx.AsyncClient) -> None:
    response = await _submit(
        client, {"name": "Spring", "location_id": "1", "start_date": "2030-04-12"}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/requests/[0-9a-f]{32}", location)
    page = await client.get(location, auth=STUDIO)
    assert page.status_code == 200
    html = page.text
    request_id = _attr(html, "data-request-id")
    assert location == f"/requests/{request_id}"
    assert _attr(html, "data-progress-url").startswith("ws://gateway.test/ws/progress?token=")
    assert _attr(html, "data-status-url") == f"http://intake.test/api/requests/{request_id}"
    assert _attr(html, "data-redirect-url") == "http://fleet.test/showcase/2030/boston/spring/"
    assert 'role="progressbar"' in html and 'aria-valuenow="0"' in html
    assert 'aria-live="polite"' in html
    assert "/static/progress.js" in html and "/static/progress.css" in html


async def test_admin_is_redirected_with_the_notice_and_one_email(
    client: httpx.AsyncClient, deps: RouteDeps, mailer: FakeMailer
) -> None:
    response = await _submit(
        client, {"name": "Winter Ball", "location_id": "2", "year": "2026"}, ADMIN
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/locations/chicago/events")
    page = await client.get(response.headers["location"], auth=ADMIN)
    assert "Winter Ball was successfully created." in page.text
    assert mailer.sent == []  # not from the request: the mail relay sends it
    assert await deps.mail_relay.drain() == 1
    again = await _submit(
        client, {"name": "Winter Ball", "location_id": "2", "year": "2026"}, ADMIN
    )
    assert again.status_code == 422  # a repeated post saves nothing (name taken), mails nothing
    assert 'data-refusal="taken"' in again.text
    assert await deps.mail_relay.drain() == 0
    assert len(mailer.sent) == 1


async def test_admin_return_to_is_honoured(client: httpx.AsyncClient) -> None:
    data = {"name": "Gala", "location_id": "2", "year": "2026", "return_to": "/showcases/new?x=1"}
    response = await _submit(client, data, ADMIN)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/showcases/new?x=1&notice=")


async def test_notice_in_the_query_only_shows_for_a_real_showcase(
    client: httpx.AsyncClient,
) -> None:
    forged = "Send+your+password+to+evil.example+was+successfully+created."
    page = await client.get(f"/locations/boston/events?notice={forged}", auth=STUDIO)
    assert page.status_code == 200 and "evil.example" not in page.text


async def test_invalid_form_is_422_with_messages_and_input_kept(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    before = counts(deps)
    data = {
        "name": "<script>alert(1)</script>",
        "location_id": "1",
        "key": "Not Valid",
        "start_date": "2026-05-02",
        "end_date": "2026-05-01",
    }
    response = await _submit(client, data)
    assert response.status_code == 422
    html = response.text
    assert "<script>alert(1)</script>" not in html  # autoescaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # and kept
    assert 'id="key-error"' in html and 'id="end_date-error"' in html
    assert 'value="Not Valid"' in html and 'value="2026-05-01"' in html
    assert counts(deps) == before


async def test_another_studios_location_is_403(client: httpx.AsyncClient, deps: RouteDeps) -> None:
    before = counts(deps)
    response = await _submit(client, {"name": "Theirs", "location_id": "2"})
    assert response.status_code == 403
    assert counts(deps) == before


@pytest.mark.parametrize(
    ("token", "headers"),
    [
        ("forged.123.abc", {}),
        (None, {"Sec-Fetch-Site": "cross-site"}),
        (None, {"Origin": "https://evil.example"}),
    ],
)
async def test_cross_site_posts_are_refused(
    client: httpx.AsyncClient, deps: RouteDeps, token: str | None, headers: dict
) -> None:
    before = counts(deps)
    data = {"name": "CSRF", "location_id": "1"} | ({"csrf_token": token} if token else {})
    response = await client.post("/showcases", data=data, auth=STUDIO, headers=headers)
    assert response.status_code == 403
    assert counts(deps) == before


async def test_a_token_signed_for_another_user_is_refused(client: httpx.AsyncClient) -> None:
    admin_token = await _token(client, ADMIN)
    data = {"name": "X", "location_id": "1", "csrf_token": admin_token}
    assert (await client.post("/showcases", data=data, auth=STUDIO)).status_code == 403


async def test_open_redirect_is_refused(client: httpx.AsyncClient, deps: RouteDeps) -> None:
    data = {"name": "Gala", "location_id": "2", "return_to": "https://evil.example/"}
    response = await _submit(client, data, ADMIN)
    assert response.status_code == 422
    assert counts(deps)["Showcase"] == 0


async def test_unknown_location_page_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/locations/nowhere/events", auth=STUDIO)).status_code == 404


async def test_showcases_yml_follows_every_change(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    await _submit(client, {"name": "Spring", "location_id": "1", "start_date": "2030-04-12"})
    deps.showcases_file.write_now()  # what the background writer does after a change
    text = deps.settings.showcases_yml_path.read_text()
    assert "boston:" in text and "spring:" in text and "2030-04-12" in text
