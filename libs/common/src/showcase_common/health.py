"""The tiny HTTP surface of a service that is otherwise a bus consumer (syncer, updater).

`/healthz` answers while the process is alive; `/readyz` runs every dependency check and names
the ones that fail, with their reason, so an operator sees at once what to fix.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from showcase_common import metrics
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.serving import HttpLimits, server_config

Check = Callable[[], Awaitable[None]]
"""Returns when the dependency is usable, raises with a clear reason when it is not."""


def create_health_app(
    checks: dict[str, Check], *, title: str = "health", timeout_s: float = 5.0
) -> FastAPI:
    """`/healthz` and `/readyz` over `checks` (name → a check that raises when not usable),
    and the process's `/metrics`."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    metrics.mount(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=0)  # only GETs here: no body is read

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        results = await asyncio.gather(*(_run(check, timeout_s) for check in checks.values()))
        report = dict(zip(checks, results, strict=True))
        ready = all(result == "ok" for result in report.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": report},
            status_code=200 if ready else 503,
        )

    return app


async def _run(check: Check, timeout_s: float) -> str:
    try:
        await asyncio.wait_for(check(), timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:.0f}s"
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return "ok"


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: the service, not uvicorn, owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def embedded_server(
    app: FastAPI, host: str, port: int, limits: HttpLimits | None = None
) -> EmbeddedServer:
    """uvicorn for `app`, to run with `await server.serve()` beside the consumer loop."""
    config = server_config(app, host=host, port=port, limits=limits or HttpLimits(), lifespan="off")
    return EmbeddedServer(config)
