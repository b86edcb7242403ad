"""Liveness and readiness."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from intake.db import Database, Saturated
from intake.web.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {}})
async def readyz(container: ContainerDep) -> JSONResponse:
    """503 unless the index database answers promptly and NATS is connected (submissions
    still queue without NATS). `db` is "saturated" when its queue is full, "stuck" when a call
    has been pending longer than DB_STUCK_S, "down" when it fails."""
    checks = {
        "db": await _db_state(container.db),
        "bus": "ok" if container.bus.connected else "down",
    }
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "degraded", **checks}, 200 if ready else 503)


async def _db_state(db: Database) -> str:
    if (state := db.state()) != "ok":
        return state
    try:
        with anyio.move_on_after(db.limits.stuck_s):
            await db.read(_select_one, db)
            return "ok"
        return "stuck"
    except Saturated:
        return "saturated"
    except Exception:
        return "down"


def _select_one(db: Database) -> None:
    with db.session() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]  # sqlmodel's exec types only select()s
