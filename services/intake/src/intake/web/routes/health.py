"""Liveness and readiness."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from intake.web.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(container: ContainerDep) -> JSONResponse:
    """503 unless the index database answers and NATS is connected (submissions still queue)."""

    def db_ok() -> bool:
        try:
            with container.db.session() as session:
                session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            return True
        except Exception:
            return False

    checks = {
        "db": "ok" if await to_thread.run_sync(db_ok) else "down",
        "bus": "ok" if container.bus.connected else "down",
    }
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "degraded", **checks}, 200 if ready else 503)
