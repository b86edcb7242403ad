"""Intake as `python -m intake` builds it, `build(settings, FakeIntakePorts(...))`, served
in-process, over a Rails-shaped index in tmp_path made by `python -m intake seed`'s function."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from anyio import to_thread
from fastapi import FastAPI
from intake.bootstrap import IntakePorts, build
from intake.config import IntakeSettings
from intake.db_lanes import Database
from intake.route_deps import RouteDeps
from intake.seed import seed
from showcase_common.runner import in_process_app

from tests.support.fakes import FakeFleetDesk, FakeMailer, FakePipeline
from tests.support.ports import FakeIntakePorts

SECRET = "test-secret-test-secret-test-secret"
STUDIO = ("studio", "studio")
ADMIN = ("admin", "admin")


def make_settings(tmp_path: Path, **overrides: object) -> IntakeSettings:
    values: dict[str, object] = {
        "index_db_path": tmp_path / "index.sqlite3",
        "showcases_yml_path": tmp_path / "showcases.yml",
        "progress_token_secret": SECRET,
        "intake_session_secret": "test-session-secret-test-session-secret",
        "public_fleet_url": "http://fleet.test",
        "public_gateway_url": "ws://gateway.test",
        "smtp_host": "",
        "log_json": False,
        "login_failure_min_s": 0.0,  # the timing tests set their own
    }
    return IntakeSettings(**(values | overrides))  # type: ignore[arg-type]


def in_process(
    settings: IntakeSettings, ports: IntakePorts | None = None, *, background: bool = False
) -> FastAPI:
    """`build(settings, ports)` (default: `FakeIntakePorts()`) as an app whose lifespan runs the
    service: its start-up (the index checked and migrated) and, with `background`, its workers
    (unit tests drive them by hand: `deps.relay.drain()`, `mail_relay.drain()`,
    `showcases_file.write_now()`)."""
    made = FakeIntakePorts() if ports is None else ports
    app = in_process_app(build(settings, made), made.nats, workers=background)
    assert isinstance(app, FastAPI)  # build's own
    return app


@pytest.fixture
def settings(tmp_path: Path) -> IntakeSettings:
    return make_settings(tmp_path)


@pytest.fixture
def pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def fleet() -> FakeFleetDesk:
    return FakeFleetDesk()


@pytest.fixture
async def app(
    settings: IntakeSettings, pipeline: FakePipeline, mailer: FakeMailer, fleet: FakeFleetDesk
) -> AsyncIterator[FastAPI]:
    seed(settings.index_db_path)
    app = in_process(settings, FakeIntakePorts(pipeline=pipeline, mailer=mailer, fleet=fleet))
    async with app.router.lifespan_context(app):
        yield app


def deps_of(app: FastAPI) -> RouteDeps:
    return app.state.route_deps


@pytest.fixture
def deps(app: FastAPI) -> RouteDeps:
    return deps_of(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
        yield client


@asynccontextmanager
async def held_writer(db: Database) -> AsyncIterator[None]:
    """The one writer thread busy until the block exits (what is queued meanwhile waits, and
    group commit takes it as one batch)."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait()

    holder = asyncio.create_task(db.write(hold))
    await to_thread.run_sync(started.wait)
    try:
        yield
    finally:
        release.set()
        await holder
