"""The agent's HTTP API (docs/ARCHITECTURE.md, "machine-agent HTTP")."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Security
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPBearer
from showcase_common import rollback_auth
from showcase_common.events import UpdateConfig
from showcase_common.logs import request_context

from machine_agent import metrics
from machine_agent.applier import (
    Applier,
    ApplyFailed,
    SnapshotNotFound,
    StaleGeneration,
    StoreUnavailable,
    UpdateTimedOut,
)
from machine_agent.config import AgentSettings
from machine_agent.guard import UPDATE_PATH
from machine_agent.index_data import SnapshotRefused
from machine_agent.new_pages import reported
from machine_agent.page_paths import page_path, page_segments
from machine_agent.sidecar import SidecarInstaller

log = logging.getLogger(__name__)
router = APIRouter()
_BEARER = HTTPBearer(auto_error=False, description="MACHINE_UPDATE_SECRET")
"""Names the bearer secret in the OpenAPI document; `guard.SecretFirstMiddleware` checks it,
before the body is read (a dependency would run after)."""


def get_settings(request: Request) -> AgentSettings:
    return request.app.state.settings  # type: ignore[no-any-return]  # app.state is untyped


def get_applier(request: Request) -> Applier:
    return request.app.state.applier  # type: ignore[no-any-return]  # app.state is untyped


SettingsDep = Annotated[AgentSettings, Depends(get_settings)]
ApplierDep = Annotated[Applier, Depends(get_applier)]


def _error(
    status: int, detail: str, settings: AgentSettings, generation: int | None
) -> JSONResponse:
    body = {"detail": detail, "machine_id": settings.agent_id, "generation": generation}
    return JSONResponse(body, status_code=status)


@router.post(
    UPDATE_PATH,
    # 401 and 413 are answered by guard.SecretFirstMiddleware and BodyLimitMiddleware, before
    # the body is read; listed here so the schema names every answer.
    responses={
        400: {"description": "the body cannot be parsed (not UTF-8)"},
        401: {
            "description": "missing or wrong bearer secret",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        },
        403: {"description": "a rollback whose signature does not verify, or is stale"},
        404: {"description": "no such snapshot: the store holds no object under object_key"},
        409: {"description": "older than the generation served"},
        413: {"description": "body over a few KiB"},
        422: {
            "description": "invalid body, or the snapshot failed its checks (object_key not "
            "the generation's, checksum, integrity)"
        },
        500: {"description": "the update failed on this machine (disk, a command, the page check)"},
        503: {"description": "the object store is unavailable (or the server is at its limit)"},
        504: {"description": "the update did not finish in time"},
    },
)
async def update_config(
    body: UpdateConfig,
    _bearer: Annotated[object, Security(_BEARER)],
    settings: SettingsDep,
    applier: ApplierDep,
    x_request_id: Annotated[str | None, Header()] = None,
) -> Any:
    snapshot = body.snapshot
    with request_context(x_request_id):
        if body.rollback is not None:
            try:
                rollback_auth.verify(_secret(settings), snapshot, body.rollback)
            except rollback_auth.RollbackRefused as exc:
                metrics.UPDATES.labels("rollback_refused").inc()
                log.warning("rollback to generation %d refused: %s", snapshot.generation, exc)
                return _error(403, f"rollback refused: {exc}", settings, applier.generation)
            log.warning(
                "rollback to generation %d authorised by %s",
                snapshot.generation,
                body.rollback.actor,
            )
        try:
            result = await applier.apply_within(
                snapshot,
                settings.agent_update_timeout_s,
                body.showcase_ids,
                allow_older=body.rollback is not None,
            )
        except StaleGeneration as exc:
            metrics.UPDATES.labels("stale").inc()
            return _error(409, str(exc), settings, exc.current)
        except SnapshotRefused as exc:
            metrics.UPDATES.labels("refused").inc()
            log.warning("refused generation %d: %s", snapshot.generation, exc)
            return _error(422, f"snapshot refused: {exc}", settings, applier.generation)
        except SnapshotNotFound as exc:
            metrics.UPDATES.labels("not_found").inc()
            log.warning("%s", exc)
            return _error(404, str(exc), settings, applier.generation)
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
        # its own check of the new showcases' pages: the updater judges these answers instead
        # of asking each page over the network (machine_updater.truth.judge_reported)
        "pages": reported(result.pages),
    }


@router.get("/showcase/status")
async def status(settings: SettingsDep, applier: ApplierDep) -> dict[str, Any]:
    return {
        "machine_id": settings.agent_id,
        "region": settings.agent_region,
        "generation": applier.generation,
    }


@router.get("/showcase/studios/{location_key}/")
@router.head("/showcase/studios/{location_key}/")  # its own route: one operation id per method
async def studio_page(location_key: str, request: Request, applier: ApplierDep) -> Response:
    return await _sidecar_page(request) or _page(applier, "studios", location_key)


@router.get("/showcase/{year}/{location_key}/")
@router.head("/showcase/{year}/{location_key}/")  # its own route: one operation id per method
async def lone_showcase_page(
    year: str, location_key: str, request: Request, applier: ApplierDep
) -> Response:
    """A location's only showcase of the year keyed `showcase` (the fleet's URL rule)."""
    return await _sidecar_page(request) or _page(applier, year, location_key)


@router.get("/showcase/{year}/{location_key}/{key}/")
@router.head("/showcase/{year}/{location_key}/{key}/")  # its own route: one operation id per method
async def showcase_page(
    year: str, location_key: str, key: str, request: Request, applier: ApplierDep
) -> Response:
    # `year` is checked with the other segments: anything that is not a page is a 404, not a 422
    if (sidecar_answer := await _sidecar_page(request)) is not None:
        return sidecar_answer
    return _page(applier, year, location_key, key)  # a lone `showcase` also answers here


async def _sidecar_page(request: Request) -> Response | None:
    """In sidecar mode the application serves the pages: answer with its answer, so whoever
    checks a page through the agent (the updater's truth check) sees what the app serves.
    Only a showcase page is forwarded, by a URL rebuilt from its checked segments
    (`page_paths`): anything else is a 404 the application never sees."""
    sidecar: SidecarInstaller | None = request.app.state.sidecar
    if sidecar is None:
        return None
    segments = page_segments(request.scope)
    if segments is None:
        metrics.PAGES_REFUSED.inc()
        raise HTTPException(404, "no such page on this machine")
    try:
        answer = await sidecar.http.get(sidecar.config.app_url + page_path(segments))
    except httpx.HTTPError as exc:
        raise HTTPException(502, f"the application did not answer: {exc}") from exc
    media_type = answer.headers.get("content-type", "text/html")
    return Response(answer.content, status_code=answer.status_code, media_type=media_type)


def _page(applier: Applier, *segments: str) -> FileResponse:
    path = applier.prerenderer.page_at(*segments)
    if path is None:
        raise HTTPException(404, "no such page on this machine")
    # Pages change with every generation: let caches revalidate rather than serve stale ones.
    return FileResponse(path, media_type="text/html", headers={"Cache-Control": "no-cache"})


def _secret(settings: AgentSettings) -> str:
    secret = settings.machine_update_secret
    return secret.get_secret_value() if secret is not None else ""
