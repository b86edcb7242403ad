"""Templates for recurring events: next year's occurrence of a past showcase (item 4)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from intake.recurring import same_weekday_years_later, template_of
from intake.route_deps import RouteDeps

from tests.unit.intake.conftest import ADMIN, STUDIO
from tests.unit.intake.helpers import add_user

TODAY = dt.date(2026, 12, 3)


def test_dates_move_by_whole_years_to_the_same_weekday() -> None:
    saturday = dt.date(2026, 5, 16)
    moved = same_weekday_years_later(saturday, 1)
    assert moved == dt.date(2027, 5, 15) and moved.weekday() == saturday.weekday()
    assert same_weekday_years_later(dt.date(2024, 2, 29), 1).weekday() == 3  # a Thursday


def test_the_name_the_year_and_the_span_move_on_past_today() -> None:
    template = template_of(
        "Spring Showcase 2025", 1, 2025, "2025-05-16 - 2025-05-17", TODAY
    )  # a Friday and Saturday; 2026's would be past: 2027's
    assert template.name == "Spring Showcase 2027"
    assert (template.start_date, template.end_date) == (dt.date(2027, 5, 14), dt.date(2027, 5, 15))
    assert template.start_date is not None and template.start_date.weekday() == 4
    assert template.year == 2027
    assert template.form_values() == {
        "name": "Spring Showcase 2027",
        "location_id": "1",
        "start_date": "2027-05-14",
        "end_date": "2027-05-15",
    }
    undated = template_of("Gala", 2, 2019, "2019", TODAY)
    assert (undated.name, undated.year, undated.start_date) == ("Gala", 2027, None)


@pytest.mark.asyncio
async def test_the_form_and_the_api_start_from_a_past_showcase(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    body = {"name": "Winter Ball 2030", "location_id": 1, "start_date": "2030-01-12"}
    created = (await client.post("/api/showcases", json=body, auth=STUDIO)).json()
    showcase_id = created["showcase"]["id"]

    form = (await client.get("/showcases/new", auth=STUDIO)).text
    assert "Start from a past showcase" in form
    assert f'<option value="{showcase_id}">Winter Ball 2030 (Boston Dance Studio, 2030)' in form

    page = (await client.get(f"/showcases/new?template={showcase_id}", auth=STUDIO)).text
    assert re.search(r'id="name" name="name" type="text" value="Winter Ball 2031"', page)
    assert 'value="2031-01-11"' in page  # a Saturday, as 2030-01-12 was
    assert re.search(r'id="key" name="key" type="text" value=""', page)

    api = await client.get(f"/api/showcases/{showcase_id}/template", auth=STUDIO)
    assert api.status_code == 200
    assert api.json() == {
        "name": "Winter Ball 2031",
        "location_id": 1,
        "key": "",
        "year": 2031,
        "start_date": "2031-01-11",
        "end_date": None,
    }
    assert (
        await client.get(f"/api/showcases/{showcase_id}/template", auth=ADMIN)
    ).status_code == 200
    add_user(deps, "other", "other-password")
    other = await client.get(
        f"/api/showcases/{showcase_id}/template", auth=("other", "other-password")
    )
    assert other.status_code == 404
    assert (await client.get("/showcases/new?template=999999", auth=STUDIO)).status_code == 404
