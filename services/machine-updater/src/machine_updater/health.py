"""The tiny HTTP server every service has: /healthz (alive) and /readyz (dependencies reachable)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

ReadyCheck = Callable[[], Awaitable[dict[str, str]]]
"""Returns {dependency: "ok" | reason}; ready when every value is "ok"."""


def health_app(ready: ReadyCheck) -> FastAPI:
    app = FastAPI(title="machine-updater health", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = await ready()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    return app


class HealthServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service's stop event rules shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def health_server(ready: ReadyCheck, host: str, port: int) -> HealthServer:
    config = uvicorn.Config(health_app(ready), host=host, port=port, log_config=None)
    return HealthServer(config)
