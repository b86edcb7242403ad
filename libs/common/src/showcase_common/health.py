"""The tiny HTTP surface of a service that is otherwise a bus consumer (syncer, updater).

`/healthz` answers while the process is alive; `/readyz` runs every dependency check and names
the ones that fail (`{"s3": "unavailable"}`), so an operator sees at once where to look. The
reason (an error text, which may name hosts, buckets or paths) goes only to the log: the endpoint
may face the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from showcase_common import metrics
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.security_headers import STATIC_PAGE_CSP, SecurityHeaders

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"
NO_ANSWER = "timeout"

Check = Callable[[], Awaitable[str | None]]
"""Returns (None or "ok") when the dependency is usable; a short word ("stuck") when it is not
for a reason worth naming; raises with a clear reason (logged, never shown) otherwise."""

Info = Callable[[], Mapping[str, object]]
"""Extra top-level fields of the readiness answer (the agent's generation): informational only,
never part of the verdict, and never named `status` or `checks`."""


def create_health_app(
    checks: Mapping[str, Check], *, title: str = "health", timeout_s: float = 5.0
) -> FastAPI:
    """`/healthz` and `/readyz` over `checks` (name → a check that raises when not usable),
    and the process's `/metrics`."""
    from fastapi import FastAPI  # here: an agent, which serves Starlette, never loads it

    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    metrics.mount(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=0)  # only GETs here: no body is read
    app.add_middleware(SecurityHeaders, csp=STATIC_PAGE_CSP)
    add_health_routes(app, checks, timeout_s=timeout_s)
    return app


def add_health_routes(
    app: Starlette, checks: Mapping[str, Check], *, timeout_s: float = 5.0, info: Info | None = None
) -> None:
    """`/healthz` (alive) and `/readyz`: `{"status": "ready" | "not ready", "checks": {name:
    "ok" | reason}}` (plus `info`'s fields), 200 or 503 — the one readiness answer of every
    service. On a FastAPI app they are documented operations (tag `health`); on a plain
    Starlette app (the agent's) plain routes."""

    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    async def readyz() -> JSONResponse:
        return await readiness(checks, timeout_s, info)

    add_api_route = getattr(app, "add_api_route", None)  # FastAPI's, without importing it
    if add_api_route is not None:
        add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
        add_api_route("/readyz", readyz, methods=["GET"], tags=["health"], responses={503: {}})
        return

    async def alive(_request: Request) -> JSONResponse:
        return JSONResponse(await healthz())

    async def ready(_request: Request) -> JSONResponse:
        return await readyz()

    app.add_route("/healthz", alive, methods=["GET"], include_in_schema=False)
    app.add_route("/readyz", ready, methods=["GET"], include_in_schema=False)


async def readiness(
    checks: Mapping[str, Check], timeout_s: float = 5.0, info: Info | None = None
) -> JSONResponse:
    """Runs every check at once and answers in the one readiness shape."""
    results = await asyncio.gather(
        *(_run(name, check, timeout_s) for name, check in checks.items())
    )
    report = dict(zip(checks, results, strict=True))
    ready = all(result == "ok" for result in report.values())
    extra = dict(info()) if info is not None else {}
    return JSONResponse(
        extra | {"status": "ready" if ready else "not ready", "checks": report},
        status_code=200 if ready else 503,
    )


async def _run(name: str, check: Check, timeout_s: float) -> str:
    """ "ok", or a fixed word for the public body; the reason is logged."""
    try:
        word = await asyncio.wait_for(check(), timeout_s)
    except TimeoutError:
        log.warning("readiness: %s gave no answer within %.0fs", name, timeout_s)
        return NO_ANSWER
    except Exception as exc:
        log.warning("readiness: %s is not usable: %s", name, str(exc) or type(exc).__name__)
        return UNAVAILABLE
    return word or "ok"


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: the service, not uvicorn, owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
