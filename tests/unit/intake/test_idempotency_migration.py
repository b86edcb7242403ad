"""Idempotency keys stored as answers (schema version 1) become facts (version 2): an existing
database migrates at start, and a key stored before the change still replays."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from intake import index_db
from intake.config import IntakeSettings
from intake.seed import seed

from tests.unit.intake.conftest import ADMIN, STUDIO, deps_of, in_process
from tests.unit.intake.helpers import counts, downgrade_idempotency_keys, schema_of
from tests.unit.intake.test_api import _same_creation

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def _intake(settings: IntakeSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = in_process(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as c:
            c.app = app  # type: ignore[attr-defined]  # for the row counts
            yield c


async def _create(client: httpx.AsyncClient, key: str, auth: tuple[str, str]) -> dict:
    body = {"name": f"Gala {key}", "location_id": 1 if auth == STUDIO else 2}
    response = await client.post(
        "/api/showcases", json=body, auth=auth, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _keys(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT key, showcase_id, request_id FROM pipeline_idempotency_keys ORDER BY key"
        ).fetchall()
    conn.close()
    return rows


async def test_keys_stored_as_answers_replay_after_the_migration(
    settings: IntakeSettings,
) -> None:
    path = settings.index_db_path
    seed(path)
    async with _intake(settings) as client:
        studio = await _create(client, "studio-key", STUDIO)
        admin = await _create(client, "admin-key", ADMIN)
    fresh_schema = schema_of(path)["pipeline_idempotency_keys"]
    downgrade_idempotency_keys(path, {"studio-key": studio, "admin-key": admin})

    async with _intake(settings) as client:  # start migrates the file
        assert _keys(path) == [
            ("admin-key", admin["showcase"]["id"], None),
            ("studio-key", studio["showcase"]["id"], studio["request_id"]),
        ]
        assert schema_of(path)["pipeline_idempotency_keys"] == fresh_schema
        _same_creation(studio, await _create(client, "studio-key", STUDIO))
        _same_creation(admin, await _create(client, "admin-key", ADMIN))
        assert counts(deps_of(client.app))["Showcase"] == 2  # type: ignore[attr-defined]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM pipeline_schema").fetchone() == (
            index_db.SCHEMA_VERSION,
        )
    conn.close()


async def test_a_key_whose_showcase_is_gone_is_dropped_by_the_migration(
    settings: IntakeSettings,
) -> None:
    path = settings.index_db_path
    seed(path)
    async with _intake(settings) as client:
        studio = await _create(client, "k", STUDIO)
    downgrade_idempotency_keys(path, {"k": studio})
    with sqlite3.connect(path) as conn:  # the Rails application deletes the showcase
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM showcases WHERE id = ?", (studio["showcase"]["id"],))
    conn.close()

    async with _intake(settings) as client:
        assert _keys(path) == []
        again = await _create(client, "k", STUDIO)  # the key is free again
        assert again["request_id"] != studio["request_id"]


async def test_a_key_whose_showcase_was_deleted_without_cascade_makes_a_new_one(
    settings: IntakeSettings,
) -> None:
    """The Rails application may delete with foreign keys off: the key then names nothing, and
    is forgotten rather than answered with a showcase that is gone."""
    path = settings.index_db_path
    seed(path)
    async with _intake(settings) as client:
        first = await _create(client, "k", STUDIO)
        with sqlite3.connect(path) as conn:  # foreign keys are off by default in sqlite3
            conn.execute("DELETE FROM showcases WHERE id = ?", (first["showcase"]["id"],))
        conn.close()
        again = await _create(client, "k", STUDIO)
        assert again["request_id"] != first["request_id"]
        assert _keys(path) == [("k", again["showcase"]["id"], again["request_id"])]
