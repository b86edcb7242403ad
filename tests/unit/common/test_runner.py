"""The one runner and the one readiness answer, with no NATS and no port."""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest
from fastapi import FastAPI
from showcase_common.runner import CannotStart, Ports, Service, in_process_app, run, serve
from showcase_common.settings import CommonSettings


def _service(events: list[str], started: asyncio.Event, **fields: object) -> Service:
    async def worker(stop: asyncio.Event) -> None:
        events.append("worker started")
        started.set()
        await stop.wait()
        events.append("worker settled")

    async def closer() -> None:
        events.append("closed")

    async def fine() -> None:
        return None

    async def stuck() -> str:
        return "stuck"

    async def broken() -> None:
        raise OSError("cannot reach db.internal:5432")

    return Service(
        name="test",
        checks={"fine": fine, "stuck": stuck, "broken": broken},
        workers=[worker],
        closers=[closer],
        **fields,  # type: ignore[arg-type]
    )


async def test_a_service_without_http_runs_its_workers_until_stopped_then_closes() -> None:
    events: list[str] = []
    started, stop = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(serve(CommonSettings(), _service(events, started), stop))
    await started.wait()
    stop.set()
    await running
    assert events == ["worker started", "worker settled", "closed"]


async def test_readiness_has_one_shape_with_words_not_error_text() -> None:
    events: list[str] = []
    service = _service(
        events, asyncio.Event(), app=FastAPI(), readiness_info=lambda: {"generation": 3}
    )
    app = in_process_app(service)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/readyz")
            alive = await client.get("/healthz")
    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {
        "generation": 3,
        "status": "not ready",
        "checks": {"fine": "ok", "stuck": "stuck", "broken": "unavailable"},
    }
    assert events == ["worker started", "worker settled", "closed"]


async def test_the_start_up_steps_run_first_in_process_too() -> None:
    """`prepare` runs before any worker, and an in-process app (tests) runs it as the process
    does: what `build` must not do (make directories, read state) happens there."""
    events: list[str] = []
    started = asyncio.Event()
    service = _service(events, started, app=FastAPI(), prepare=[lambda: events.append("prepared")])
    assert events == []  # building runs nothing
    gc.unfreeze()  # a test before this one may have run a process's start in this one
    app = in_process_app(service)
    async with app.router.lifespan_context(app):
        await started.wait()
        assert gc.get_freeze_count() == 0  # the heap is the test run's: never frozen here
    assert events == ["prepared", "worker started", "worker settled", "closed"]


def test_a_start_up_step_that_cannot_start_exits_1_with_its_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refuse() -> None:
        raise CannotStart("no index at x: copy it from S3")

    status = run(
        CommonSettings, lambda _s: Ports(), lambda _s, _p: Service(name="t", prepare=[refuse]), []
    )
    assert status == 1
    assert capsys.readouterr().err == "t: no index at x: copy it from S3\n"


def test_a_process_freezes_its_start_up_heap_before_serving() -> None:
    """What start-up built is out of the collector's generations by the time the service
    starts (its `prepare` steps see it), in the process only (`run`)."""
    frozen: list[int] = []

    def look() -> None:
        frozen.append(gc.get_freeze_count())
        raise CannotStart("seen")

    def build(_s: CommonSettings, _p: Ports) -> Service:
        return Service(name="t", prepare=[look])

    gc.unfreeze()  # a test before this one may have run a process's start in this one
    try:
        assert run(CommonSettings, lambda _s: Ports(), build, []) == 1
    finally:
        gc.unfreeze()
    assert frozen[0] > 0
