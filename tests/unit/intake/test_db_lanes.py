"""The database lanes: a full queue refuses at once (503 + Retry-After), a call pending too long
makes /readyz say the database is stuck. The writer is held by a call blocked on an Event, so
every state is reached by events, not by timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from intake.db_lanes import Database, DbLimits, Saturated
from intake.index_db import make_engine
from intake.seed import seed

from tests.unit.intake.conftest import STUDIO, deps_of, held_writer, in_process, make_settings


async def test_a_full_lane_refuses_at_once_and_serves_again_when_it_drains(
    tmp_path: Path,
) -> None:
    limits = DbLimits(queue=1)
    db = Database(make_engine(tmp_path / "index.sqlite3", limits), limits)
    async with held_writer(db):
        queued = asyncio.create_task(db.write(lambda: "queued"))
        await asyncio.sleep(0)  # let it take its place in the queue (a yield, not a wait)
        assert db.state() == "saturated"
        with pytest.raises(Saturated):
            await db.write(lambda: "refused")
        background = asyncio.create_task(db.write(lambda: "background", bounded=False))
        await asyncio.sleep(0)  # a relay's write waits in the queue even past its bound
    assert (await queued, await background) == ("queued", "background")
    assert db.state() == "ok"


async def test_a_call_pending_longer_than_stuck_s_makes_the_database_stuck(
    tmp_path: Path,
) -> None:
    limits = DbLimits(stuck_s=0.0)
    db = Database(make_engine(tmp_path / "index.sqlite3", limits), limits)
    async with held_writer(db):
        assert db.state() == "stuck"
    assert db.state() == "ok"


def test_the_pool_has_a_connection_for_every_lane_thread(tmp_path: Path) -> None:
    limits = DbLimits(read_threads=3)
    engine = make_engine(tmp_path / "index.sqlite3", limits)
    assert engine.pool.size() == 3 + 1 + 1  # type: ignore[attr-defined]  # a QueuePool; readers, the writer, one spare


@asynccontextmanager
async def intake(tmp_path: Path, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(tmp_path, **overrides)
    seed(settings.index_db_path)
    app = in_process(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def test_past_the_queue_a_submission_gets_503_with_retry_after(tmp_path: Path) -> None:
    async with intake(tmp_path, db_queue=0) as client:
        db = deps_of(client.app).db  # type: ignore[attr-defined]
        async with held_writer(db):
            body = {"name": "Spring Gala", "location_id": 1}
            response = await client.post("/api/showcases", json=body, auth=STUDIO)
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "1"
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["db"] == "saturated"
        response = await client.post("/api/showcases", json=body, auth=STUDIO)
        assert response.status_code == 201
        assert (await client.get("/readyz")).json()["checks"]["db"] == "ok"


async def test_readyz_reports_a_stuck_write(tmp_path: Path) -> None:
    async with intake(tmp_path, db_stuck_s=0.0) as client:
        db = deps_of(client.app).db  # type: ignore[attr-defined]
        async with held_writer(db):
            ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "not ready", "checks": {"db": "stuck", "bus": "ok"}}
