"""The agent's OpenAPI document (and `/docs`, `/redoc`), built with FastAPI on first request.

The agent serves its routes with Starlette (`api.py`): FastAPI (and the pydantic v1 shim it
loads to declare routes) would cost ~8 MiB in every agent, beside the Rails application, for a
document nobody reads in production. The routes are declared here, as FastAPI sees them, only
to describe them; nothing here runs a request. `tests/unit/machine_agent/test_openapi_doc.py`
holds the declarations and the served routes to each other (paths, methods, the update's body
and answers); the fuzzer (`tests/integration/machine_agent/test_schemathesis.py`) holds the
agent's answers to this document.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Security
from fastapi.responses import Response
from fastapi.security import HTTPBearer
from showcase_common.events import UpdateConfig
from showcase_common.health import add_health_routes
from showcase_common.openapi import exact_openapi

from machine_agent.guard import UPDATE_PATH

TITLE = "machine-agent"


router = APIRouter()
_DESCRIBED_ONLY = "described here, served by machine_agent.api"
_BEARER = HTTPBearer(auto_error=False, description="MACHINE_UPDATE_SECRET")
"""Names the bearer secret in the document; `guard.SecretFirstMiddleware` checks it."""

UPDATE_ANSWERS: dict[int | str, dict[str, Any]] = {
    # 401 and 413 are answered by guard.SecretFirstMiddleware and BodyLimitMiddleware, before
    # the body is read; listed here so the schema names every answer.
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
}


# Each declaration has the name, parameters and docstring of the `api.py` route it describes
# (FastAPI derives operation ids and descriptions from them); none is ever called.


@router.post(UPDATE_PATH, responses=UPDATE_ANSWERS)
async def update_config(
    body: UpdateConfig,
    _bearer: Annotated[object, Security(_BEARER)],
    x_request_id: Annotated[str | None, Header()] = None,
) -> Any:
    raise NotImplementedError(_DESCRIBED_ONLY)


@router.get("/showcase/status")
async def status() -> dict[str, Any]:
    raise NotImplementedError(_DESCRIBED_ONLY)


@router.get("/showcase/studios/{location_key}/")
@router.head("/showcase/studios/{location_key}/")  # its own route: one operation id per method
async def studio_page(location_key: str) -> Response:
    raise NotImplementedError(_DESCRIBED_ONLY)


@router.get("/showcase/{year}/{location_key}/")
@router.head("/showcase/{year}/{location_key}/")  # its own route: one operation id per method
async def lone_showcase_page(year: str, location_key: str) -> Response:
    """A location's only showcase of the year keyed `showcase` (the fleet's URL rule)."""
    raise NotImplementedError(_DESCRIBED_ONLY)


@router.get("/showcase/{year}/{location_key}/{key}/")
@router.head("/showcase/{year}/{location_key}/{key}/")  # its own route: one operation id per method
async def showcase_page(year: str, location_key: str, key: str) -> Response:
    raise NotImplementedError(_DESCRIBED_ONLY)


def documentation_app() -> FastAPI:
    """The routes as FastAPI documents them, with the runner's health routes, as before."""
    app = FastAPI(title=TITLE)
    app.include_router(router)
    add_health_routes(app, {})
    exact_openapi(app, (UpdateConfig,))
    return app
