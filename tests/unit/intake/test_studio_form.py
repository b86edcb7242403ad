"""The forms' rules that never guess (item 8) and the studio's own form (item 7)."""

from __future__ import annotations

import html as html_lib
import re

import httpx
import pytest
from intake.route_deps import RouteDeps

from tests.unit.intake.conftest import ADMIN, STUDIO
from tests.unit.intake.helpers import add_user, counts

pytestmark = pytest.mark.asyncio


async def _fields(client: httpx.AsyncClient, path: str, auth: tuple[str, str]) -> dict[str, str]:
    page = await client.get(path, auth=auth)
    assert page.status_code == 200, page.text
    return dict(re.findall(r'name="(csrf_token|form_token|return_to)" value="([^"]*)"', page.text))


async def _post(
    client: httpx.AsyncClient,
    data: dict[str, str],
    auth: tuple[str, str] = STUDIO,
    path: str = "/showcases",
) -> httpx.Response:
    form_path = "/showcases/new" if path == "/showcases" else path
    return await client.post(path, data=await _fields(client, form_path, auth) | data, auth=auth)


def _errors(html: str) -> list[str]:
    summary = html[html.index('id="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    items = re.findall(r"<li>(.*?)</li>", summary)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "Gala", "location_id": "1"}, ["Start date can't be blank"]),
        (
            {"name": "Gala", "location_id": "1", "start_date": "2030-05-16", "year": "2031"},
            ["Year must be the start date's year (2030), or left blank"],
        ),
        (
            {"name": "Gala", "location_id": "1", "start_date": "2020-05-16"},
            ["Start date is in the past (today is "],
        ),
        (
            {
                "name": "Gala",
                "location_id": "1",
                "start_date": "2030-05-16",
                "end_date": "2030-05-15",
            },
            ["End date must not be before the start date"],
        ),
        ({"name": "", "location_id": "1", "start_date": "2030-05-16"}, ["Name can't be blank"]),
        (
            {"name": "Gala", "location_id": "1", "start_date": "2030-05-16", "key": "Bad Key"},
            ["Address may contain only a-z, 0-9 and single dashes between them"],
        ),
    ],
)
async def test_a_studios_request_is_refused_for_each_rule_and_nothing_is_saved(
    client: httpx.AsyncClient, deps: RouteDeps, data: dict[str, str], expected: list[str]
) -> None:
    before = counts(deps)
    response = await _post(client, data)
    assert response.status_code == 422
    errors = _errors(response.text)
    assert len(errors) == len(expected)
    for got, want in zip(errors, expected, strict=True):
        assert got.startswith(want), (got, want)
    assert counts(deps) == before
    assert 'autofocus id="error-summary"' in response.text  # focus goes to the summary


async def test_an_admin_may_leave_the_date_empty_giving_a_year_and_record_a_past_event(
    client: httpx.AsyncClient,
) -> None:
    refused = await _post(client, {"name": "Old Gala", "location_id": "2"}, ADMIN)
    assert refused.status_code == 422
    assert _errors(refused.text) == ["Year can't be blank without a start date"]
    assert (
        await _post(client, {"name": "Old", "location_id": "2", "year": "2019"}, ADMIN)
    ).status_code == 303
    past = {"name": "Past", "location_id": "2", "start_date": "2020-05-16", "year": "2020"}
    assert (await _post(client, past, ADMIN)).status_code == 303


async def test_a_duplicate_is_told_once_on_the_field_typed_naming_the_studio(
    client: httpx.AsyncClient,
) -> None:
    first = {"name": "Spring Gala", "location_id": "1", "start_date": "2030-05-16"}
    assert (await _post(client, first)).status_code == 303
    # the same name in lower case: its derived address is taken; told on the name, once
    lower = await _post(client, first | {"name": "spring gala"})
    assert _errors(lower.text) == [
        "Name gives the same address as “Spring Gala” of Boston Dance Studio in 2030: choose"
        " another name, or another address under Advanced"
    ]
    same = await _post(client, first)
    assert _errors(same.text) == [
        "Name is already used by another showcase of Boston Dance Studio in 2030"
    ]
    typed = await _post(client, first | {"name": "Autumn", "key": "spring-gala"})
    assert _errors(typed.text) == [
        "Address is already used by “Spring Gala” of Boston Dance Studio in 2030"
    ]


async def test_the_form_speaks_the_owners_words_and_shows_the_address(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/showcases/new", auth=STUDIO)).text
    assert "<summary>Advanced: the showcase's address</summary>" in html
    assert 'for="location_id">Studio<' in html
    assert 'href="/requests"' in html  # navigation to my requests


async def test_the_studios_form_fixed_studio_existing_events_and_return_to(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    assert (
        await _post(client, {"name": "First", "location_id": "1", "start_date": "2030-05-16"})
    ).status_code == 303
    for path in ("/studios/boston/request", "/showcase/studios/boston/request"):
        page = await client.get(path, auth=STUDIO)
        assert page.status_code == 200
        html = page.text
        assert "New showcase for Boston Dance Studio" in html
        assert f'action="{path}"' in html and "Existing events" in html
        assert 'href="http://fleet.test/showcase/2030/boston/first/"' in html
        assert 'value="http://fleet.test/showcase/studios/boston/"' in html  # return_to default
        assert 'href="http://fleet.test/showcase/studios/boston/">Back to studio' in html
    foreign = await client.get(
        "/studios/boston/request?return_to=https://evil.example/", auth=STUDIO
    )
    assert "evil.example" not in foreign.text
    kept = await client.get(
        "/studios/boston/request?return_to=/showcase/studios/boston/", auth=STUDIO
    )
    assert 'name="return_to" value="/showcase/studios/boston/"' in kept.text

    # the POST behaves as POST /showcases, for this studio whatever location_id says
    posted = await _post(
        client,
        {"name": "Second", "location_id": "2", "start_date": "2030-06-16"},
        path="/showcase/studios/boston/request",
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/requests/")
    refused = await _post(
        client, {"name": "", "start_date": "2030-06-16"}, path="/studios/boston/request"
    )
    assert refused.status_code == 422 and "Existing events" in refused.text

    add_user(deps, "other", "other-password")
    other = ("other", "other-password")
    assert (await client.get("/studios/boston/request", auth=other)).status_code == 403
    assert (await client.get("/studios/nowhere/request", auth=STUDIO)).status_code == 404


async def test_an_admins_post_from_the_studios_form_lands_on_return_to_or_the_rails_page(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    data = {"name": "Admin Gala", "start_date": "2030-05-16"}
    landed = await _post(client, data, ADMIN, "/studios/boston/request")
    assert landed.status_code == 303
    assert landed.headers["location"].startswith(
        "http://fleet.test/showcase/studios/boston/?notice="
    )
    deps.settings.rails_app_url = "https://rails.test/showcase"
    try:
        # no return_to left to honour: the Rails app's events page of the location
        from intake.web.routes.forms import admin_landing

        with deps.db.session() as session:
            from showcase_common.index.models import Location

            boston = session.get(Location, 1)
        assert boston is not None
        assert admin_landing(deps, boston) == "https://rails.test/showcase/locations/1/events"
    finally:
        deps.settings.rails_app_url = ""
