"""The agent's HTTP API (docs/ARCHITECTURE.md, "machine-agent HTTP")."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from showcase_common.events import Snapshot
from showcase_common.logs import request_context

from machine_agent import metrics
from machine_agent.applier import (
    Applier,
    ApplyFailed,
    StaleGeneration,
    StoreUnavailable,
    UpdateTimedOut,
)
from machine_agent.catchup import CatchUp
from machine_agent.config import AgentSettings
from machine_agent.index_data import SnapshotRefused

log = logging.getLogger(__name__)
router = APIRouter()


def get_settings(request: Request) -> AgentSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_applier(request: Request) -> Applier:
    return request.app.state.applier  # type: ignore[no-any-return]


SettingsDep = Annotated[AgentSettings, Depends(get_settings)]
ApplierDep = Annotated[Applier, Depends(get_applier)]


def require_secret(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    expected = settings.machine_update_secret
    scheme, _, given = (authorization or "").partition(" ")
    # Constant-time comparison, so the secret cannot be guessed byte by byte from timings.
    ok = (
        expected is not None
        and bool(expected.get_secret_value())
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), expected.get_secret_value().encode())
    )
    if not ok:
        metrics.UPDATES.labels("unauthorized").inc()
        raise HTTPException(
            401, "invalid or missing bearer secret", headers={"WWW-Authenticate": "Bearer"}
        )


def _error(
    status: int, detail: str, settings: AgentSettings, generation: int | None
) -> JSONResponse:
    body = {"detail": detail, "machine_id": settings.agent_id, "generation": generation}
    return JSONResponse(body, status_code=status)


@router.post("/showcase/update_config", dependencies=[Depends(require_secret)])
async def update_config(
    snapshot: Snapshot,
    settings: SettingsDep,
    applier: ApplierDep,
    x_request_id: Annotated[str | None, Header()] = None,
) -> Any:
    with request_context(x_request_id):
        try:
            result = await applier.apply_within(snapshot, settings.agent_update_timeout_s)
        except StaleGeneration as exc:
            metrics.UPDATES.labels("stale").inc()
            return _error(409, str(exc), settings, exc.current)
        except SnapshotRefused as exc:
            metrics.UPDATES.labels("refused").inc()
            log.warning("refused generation %d: %s", snapshot.generation, exc)
            return _error(422, f"snapshot refused: {exc}", settings, applier.generation)
        except StoreUnavailable as exc:
            metrics.UPDATES.labels("store_unavailable").inc()
            log.warning("store unavailable for generation %d: %s", snapshot.generation, exc)
            return _error(503, str(exc), settings, applier.generation)
        except UpdateTimedOut as exc:
            metrics.UPDATES.labels("timeout").inc()
            log.warning("%s", exc)
            return _error(504, str(exc), settings, applier.generation)
        except ApplyFailed as exc:
            metrics.UPDATES.labels("failed").inc()
            log.error("generation %d failed: %s", snapshot.generation, exc)
            return _error(500, str(exc), settings, applier.generation)
    metrics.UPDATES.labels("applied" if result.changed else "no_op").inc()
    return {
        "machine_id": settings.agent_id,
        "region": settings.agent_region,
        "generation": result.generation,
        "changed": result.changed,
        "timings": result.timings,
        "pages_rendered": result.pages_rendered,
        "pages_removed": result.pages_removed,
        "pages_total": result.pages_total,
        "files_changed": result.files_changed,
    }


@router.get("/showcase/status")
async def status(settings: SettingsDep, applier: ApplierDep) -> dict[str, Any]:
    return {
        "machine_id": settings.agent_id,
        "region": settings.agent_region,
        "generation": applier.generation,
    }


@router.api_route("/showcase/studios/{location_key}/", methods=["GET", "HEAD"])
async def studio_page(location_key: str, applier: ApplierDep) -> FileResponse:
    return _page(applier, "studios", location_key)


@router.api_route("/showcase/{year}/{location_key}/{key}/", methods=["GET", "HEAD"])
async def showcase_page(
    year: str, location_key: str, key: str, applier: ApplierDep
) -> FileResponse:
    # `year` is checked with the other segments: anything that is not a page is a 404, not a 422
    return _page(applier, year, location_key, key)


def _page(applier: Applier, *segments: str) -> FileResponse:
    path = applier.prerenderer.page_file(*segments)
    if path is None:
        raise HTTPException(404, "no such page on this machine")
    # Pages change with every generation: let caches revalidate rather than serve stale ones.
    return FileResponse(path, media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, applier: ApplierDep) -> JSONResponse:
    # Public: which dependency, never its error text (hosts, buckets, paths); that goes to the log.
    catchup: CatchUp = request.app.state.catchup
    catch_up = catchup.state.partition(":")[0]  # "retrying: <why>" → "retrying"
    body: dict[str, Any] = {"generation": applier.generation, "catch_up": catch_up}
    try:
        await asyncio.to_thread(applier.store.check_bucket)
    except Exception as exc:
        log.warning("readiness: the object store is not usable: %s", exc)
        body |= {"status": "unavailable", "checks": {"s3": "unavailable"}}
        return JSONResponse(body, status_code=503)
    return JSONResponse({**body, "status": "ready", "checks": {"s3": "ok"}})
