"""Showcases as the Rails application writes them, and the index's own rows shown as they are."""

from __future__ import annotations

import re
import sqlite3

import httpx
from fastapi import FastAPI
from intake.config import IntakeSettings
from intake.route_deps import RouteDeps
from intake.seed import seed
from intake.web.presenters import showcase_public
from showcase_common.index import table_definitions
from showcase_common.index.models import Location, Showcase

from tests.unit.intake.conftest import ADMIN, STUDIO, deps_of, in_process

RAILS_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")


async def _post(client: httpx.AsyncClient, body: dict, auth=STUDIO) -> httpx.Response:
    return await client.post("/api/showcases", json=body, auth=auth)


def _row(settings: IntakeSettings, showcase_id: int) -> dict[str, object]:
    """The stored row, as text and numbers, read past the models."""
    with sqlite3.connect(settings.index_db_path) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM showcases WHERE id = ?", (showcase_id,)).fetchone()
    conn.close()
    return dict(row)


def _rails_insert(
    settings: IntakeSettings, location: str, year: int, key: str, date: str, order: int | None
) -> None:
    """A row as the Rails application (or an admin, years ago) left it."""
    with sqlite3.connect(settings.index_db_path) as conn:
        conn.execute(
            'INSERT INTO showcases (year, key, name, location_id, "order", date, created_at, updated_at)'
            " SELECT ?, ?, ?, id, ?, ?, '2023-11-11 10:00:00.000000', '2023-11-11 10:00:00.000000'"
            " FROM locations WHERE key = ?",
            (year, key, f"Old {key}", order, date, location),
        )
    conn.close()


async def test_a_start_date_alone_is_the_date(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    body = {
        "name": "  Spring Gala  ",
        "location_id": 1,
        "start_date": "2027-05-16",
        "key": " spring ",
    }
    out = (await _post(client, body)).json()["showcase"]

    row = _row(settings, out["id"])
    assert row["date"] == "2027-05-16"
    assert row["name"] == "Spring Gala" and row["key"] == "spring"  # stripped
    assert row["year"] == 2027 and row["location_id"] == 1
    assert RAILS_TIMESTAMP.match(str(row["created_at"])) and RAILS_TIMESTAMP.match(
        str(row["updated_at"])
    )
    assert out["date"] == "2027-05-16"
    assert out["start_date"] == "2027-05-16" and out["end_date"] is None


async def test_an_end_date_is_written_even_on_the_same_day(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    same = {
        "name": "One Day",
        "location_id": 1,
        "start_date": "2026-02-06",
        "end_date": "2026-02-06",
    }
    span = {
        "name": "Weekend",
        "location_id": 1,
        "start_date": "2026-02-06",
        "end_date": "2026-02-08",
    }
    one_day = (await _post(client, same)).json()["showcase"]
    weekend = (await _post(client, span)).json()["showcase"]

    assert _row(settings, one_day["id"])["date"] == "2026-02-06 - 2026-02-06"
    assert _row(settings, weekend["id"])["date"] == "2026-02-06 - 2026-02-08"
    assert (one_day["start_date"], one_day["end_date"]) == ("2026-02-06", "2026-02-06")
    assert (weekend["start_date"], weekend["end_date"]) == ("2026-02-06", "2026-02-08")


async def test_no_date_stays_null(client: httpx.AsyncClient, settings: IntakeSettings) -> None:
    out = (await _post(client, {"name": "Someday", "location_id": 1, "year": 2028})).json()
    assert _row(settings, out["showcase"]["id"])["date"] is None
    assert out["showcase"]["date"] is None and out["showcase"]["start_date"] is None


async def test_order_is_max_plus_one_over_every_location(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    _rails_insert(settings, "chicago", 2025, "fall", "2025", order=41)
    _rails_insert(settings, "raleigh", 2024, "spring", "11-11-23", order=None)

    mine = (await _post(client, {"name": "Mine", "location_id": 1, "year": 2027})).json()
    admins = (await _post(client, {"name": "Theirs", "location_id": 3}, auth=ADMIN)).json()

    assert mine["showcase"]["order"] == 42
    assert admins["showcase"]["order"] == 43


async def test_old_rows_with_free_form_dates_are_shown_and_never_rewritten(
    client: httpx.AsyncClient, deps: RouteDeps, settings: IntakeSettings
) -> None:
    _rails_insert(settings, "boston", 2025, "gala", "2025", order=7)
    _rails_insert(settings, "boston", 2023, "fall", "11-11-23", order=None)
    before = {i: _row(settings, i) for i in (1, 2)}

    created = await _post(client, {"name": "New", "location_id": 1, "start_date": "2025-06-20"})
    page = await client.get("/locations/boston/events", auth=ADMIN)

    assert created.status_code == 201
    assert page.status_code == 200
    for text in ("Old gala", "2025", "Old fall", "11-11-23", "New", "2025-06-20"):
        assert text in page.text
    assert {i: _row(settings, i) for i in (1, 2)} == before


def test_a_free_form_date_reads_as_no_start_or_end() -> None:
    location = Location(id=1, key="boston", name="Boston")
    for date in ("2025", "11-11-23", "March 3rd"):
        shown = showcase_public(
            Showcase(id=9, location_id=1, year=2025, key="k", name="N", order=1, date=date),
            location,
        )
        assert (shown.date, shown.start_date, shown.end_date) == (date, None, None)


async def test_name_and_key_are_unique_against_the_rails_rows_too(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    _rails_insert(settings, "boston", 2026, "gala", "2026", order=3)

    taken_key = await _post(
        client, {"name": "Other", "key": "gala", "location_id": 1, "year": 2026}
    )
    taken_name = await _post(client, {"name": "Old gala", "location_id": 1, "year": 2026})
    next_year = await _post(
        client, {"name": "Old gala", "key": "gala", "location_id": 1, "year": 2027}
    )

    assert taken_key.status_code == 422 and taken_name.status_code == 422
    assert next_year.status_code == 201


async def test_a_lone_showcase_keyed_showcase_redirects_to_the_location_year_page(
    client: httpx.AsyncClient,
) -> None:
    lone = await _post(
        client, {"name": "Boston Showcase", "key": "showcase", "location_id": 1, "year": 2027}
    )
    second = await _post(client, {"name": "Encore", "location_id": 1, "year": 2027})

    assert lone.json()["redirect_url"] == "http://fleet.test/showcase/2027/boston/"
    assert second.json()["redirect_url"] == "http://fleet.test/showcase/2027/boston/encore/"


async def test_rails_table_definitions_are_byte_identical_after_start_and_a_request(
    settings: IntakeSettings,
) -> None:
    seed(settings.index_db_path)
    with sqlite3.connect(settings.index_db_path) as conn:
        before = table_definitions(conn)
    conn.close()

    app: FastAPI = in_process(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
            studio = await _post(client, {"name": "Gala", "location_id": 1, "year": 2027})
            admin = await _post(client, {"name": "Ball", "location_id": 2}, auth=ADMIN)
        assert studio.status_code == 201 and admin.status_code == 201
        assert await deps_of(app).relay.drain() == 1
        assert await deps_of(app).mail_relay.drain() == 1

    with sqlite3.connect(settings.index_db_path) as conn:
        after = table_definitions(conn)
    conn.close()
    assert after == before
