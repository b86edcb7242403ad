"""Intake's readiness checks, answered by the runner's `/readyz` in the one shape:
`{"status": "ready" | "not ready", "checks": {"db": …, "bus": …}}`, 503 unless both are "ok".

Submissions still queue without NATS (the outbox keeps them), so `bus` being down does not stop
intake serving; it only says the requests wait at "queued"."""

from __future__ import annotations

import anyio
from showcase_common.health import Check
from sqlalchemy import text

from intake.db_lanes import Database, Saturated
from intake.ports import Pipeline

DOWN = "down"


def checks(db: Database, pipeline: Pipeline) -> dict[str, Check]:
    """`db`: "ok", "saturated" (its queue is full), "stuck" (a call pending longer than
    DB_STUCK_S) or "down" (it fails); `bus`: "ok" or "down"."""

    async def database() -> str:
        return await db_state(db)

    async def nats() -> str:
        return "ok" if pipeline.connected else DOWN

    return {"db": database, "bus": nats}


async def db_state(db: Database) -> str:
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
        return DOWN


def _select_one(db: Database) -> None:
    with db.session() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]  # sqlmodel types exec for select() only
