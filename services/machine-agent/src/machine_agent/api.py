"""The agent's HTTP API (docs/ARCHITECTURE.md, "machine-agent HTTP"), on Starlette.

Not FastAPI: the agent runs beside the Rails application on every machine, and FastAPI would
cost it ~8 MiB for five routes. The answers are FastAPI's, to the byte where a client reads them
(`{"detail": …}` errors, a 422 listing pydantic's errors under `body`); the OpenAPI document
describing them is `openapi_doc.py`'s, built on first request.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import ValidationError
from showcase_common import rollback_auth
from showcase_common.events import UpdateConfig
from showcase_common.logs import request_context
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

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
from machine_agent.route_deps import get_route_deps

log = logging.getLogger(__name__)


def _error(
    status: int, detail: str, settings: AgentSettings, generation: int | None
) -> JSONResponse:
    body = {"detail": detail, "machine_id": settings.agent_id, "generation": generation}
    return JSONResponse(body, status_code=status)


async def update_config(request: Request) -> Response:
    began = time.perf_counter()
    deps = get_route_deps(request)
    settings, applier = deps.settings, deps.applier
    parsed = await _update_body(request)
    if isinstance(parsed, Response):
        return parsed
    snapshot = parsed.snapshot
    with request_context(request.headers.get("x-request-id")):
        if parsed.rollback is not None:
            try:
                rollback_auth.verify(_secret(settings), snapshot, parsed.rollback)
            except rollback_auth.RollbackRefused as exc:
                metrics.UPDATES.labels("rollback_refused").inc()
                log.warning("rollback to generation %d refused: %s", snapshot.generation, exc)
                return _error(403, f"rollback refused: {exc}", settings, applier.generation)
            log.warning(
                "rollback to generation %d authorised by %s",
                snapshot.generation,
                parsed.rollback.actor,
            )
        try:
            result = await applier.apply_within(
                snapshot,
                settings.agent_update_timeout_s,
                parsed.showcase_ids,
                allow_older=parsed.rollback is not None,
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
    return JSONResponse(
        {
            "machine_id": settings.agent_id,
            "region": settings.agent_region,
            "generation": result.generation,
            "changed": result.changed,
            # `handler`: the route's own time, its body read to its answer, the apply's
            # `total` included (what the machine spends on a call beyond its apply)
            "timings": result.timings | {"handler": round(time.perf_counter() - began, 4)},
            "pages_rendered": result.pages_rendered,
            "pages_removed": result.pages_removed,
            "pages_total": result.pages_total,
            "files_changed": result.files_changed,
            # its own check of the new showcases' pages: the updater judges these answers
            # instead of asking each page over the network (machine_updater.truth)
            "pages": reported(result.pages),
        }
    )


async def _update_body(request: Request) -> UpdateConfig | Response:
    """The body as FastAPI reads a JSON body: parsed as JSON only when its content type says
    JSON (FastAPI's strict content type), validated; else the 422 (or 400) FastAPI answers."""
    raw = await request.body()
    if not raw:
        return _invalid(
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        )
    body: Any = raw
    if _is_json(request.headers.get("content-type")):
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            error = {"type": "json_invalid", "loc": ["body", exc.pos], "msg": "JSON decode error",
                     "input": {}, "ctx": {"error": exc.msg}}  # fmt: skip
            return _invalid([error])
        except ValueError:
            return JSONResponse({"detail": "There was an error parsing the body"}, 400)
    try:
        return UpdateConfig.model_validate(body, from_attributes=True)  # as FastAPI does
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return _invalid([{**e, "loc": ["body", *e["loc"]]} for e in errors])


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.partition(";")[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _invalid(errors: list[dict[str, Any]]) -> JSONResponse:
    """FastAPI's 422, safe for `NaN` and `Infinity` in the input (strict JSON cannot hold them:
    they are echoed as text, as `showcase_common.validation_errors` does)."""
    return JSONResponse({"detail": _jsonable(errors)}, status_code=422)


def _jsonable(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, bytes):  # a body that is not JSON, echoed as text
        return value.decode(errors="replace")
    return str(value)  # an exception in `ctx`, a Decimal, a date...


async def status(request: Request) -> Response:
    deps = get_route_deps(request)
    return JSONResponse(
        {
            "machine_id": deps.settings.agent_id,
            "region": deps.settings.agent_region,
            "generation": deps.applier.generation,
        }
    )


async def studio_page(request: Request) -> Response:
    location_key = request.path_params["location_key"]
    return await _sidecar_page(request) or _page(
        get_route_deps(request).applier, "studios", location_key
    )


async def lone_showcase_page(request: Request) -> Response:
    """A location's only showcase of the year keyed `showcase` (the fleet's URL rule)."""
    year, location_key = request.path_params["year"], request.path_params["location_key"]
    return await _sidecar_page(request) or _page(
        get_route_deps(request).applier, year, location_key
    )


async def showcase_page(request: Request) -> Response:
    # `year` is checked with the other segments: anything that is not a page is a 404, not a 422
    if (sidecar_answer := await _sidecar_page(request)) is not None:
        return sidecar_answer
    year, location_key, key = (
        request.path_params["year"],
        request.path_params["location_key"],
        request.path_params["key"],
    )
    # a lone `showcase` also answers here (`Prerenderer.page_at`)
    return _page(get_route_deps(request).applier, year, location_key, key)


async def _sidecar_page(request: Request) -> Response | None:
    """In sidecar mode the application serves the pages: answer with its answer, so whoever
    checks a page through the agent (the updater's truth check) sees what the app serves.
    Only a showcase page is forwarded, by a URL rebuilt from its checked segments
    (`page_paths`): anything else is a 404 the application never sees."""
    sidecar = get_route_deps(request).sidecar
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


async def http_exception(_request: Request, exc: Exception) -> Response:
    """FastAPI's answer to an `HTTPException` (a 404, a 405, the 413): `{"detail": …}`."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in {204, 304}:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _secret(settings: AgentSettings) -> str:
    secret = settings.machine_update_secret
    return secret.get_secret_value() if secret is not None else ""


def _get_only(path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """A GET route that does not answer HEAD (Starlette adds it to every GET route): the status
    is documented, and was served, for GET only."""
    route = Route(path, endpoint, methods=["GET"])
    assert route.methods is not None
    route.methods.discard("HEAD")
    return route


# In the order FastAPI matched them (the studios' page before a year's). A page's GET route
# answers HEAD too, as its documented HEAD operation says.
ROUTES: list[BaseRoute] = [
    Route(UPDATE_PATH, update_config, methods=["POST"]),
    _get_only("/showcase/status", status),
    Route("/showcase/studios/{location_key}/", studio_page, methods=["GET"]),
    Route("/showcase/{year}/{location_key}/", lone_showcase_page, methods=["GET"]),
    Route("/showcase/{year}/{location_key}/{key}/", showcase_page, methods=["GET"]),
]
