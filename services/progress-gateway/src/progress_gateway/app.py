"""The HTTP surface: the progress WebSocket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, WebSocket
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.security_headers import STATIC_PAGE_CSP, SecurityHeaders
from showcase_common.tokens import InvalidToken, TokenExpired, verify_token
from starlette.requests import HTTPConnection

from progress_gateway import metrics, sockets
from progress_gateway.route_deps import RouteDeps

router = APIRouter()


def get_route_deps(connection: HTTPConnection) -> RouteDeps:
    return connection.app.state.route_deps  # type: ignore[no-any-return]  # app.state is untyped; create_app sets it


Deps = Annotated[RouteDeps, Depends(get_route_deps)]


@router.websocket("/ws/progress")
async def progress_socket(
    websocket: WebSocket, deps: Deps, token: Annotated[str | None, Query()] = None
) -> None:
    await websocket.accept()
    try:
        grant = verify_token(deps.settings.progress_token_secret, token)
    except InvalidToken as exc:
        metrics.WEBSOCKETS_REFUSED.labels(_refusal(token, exc)).inc()
        # Accept first so the browser sees the reason (a refused handshake is an opaque 403).
        await websocket.close(sockets.CLOSE_UNAUTHORIZED, f"unauthorized: {exc}"[:120])
        return
    await sockets.serve(websocket, grant, deps.store, deps.changes)


def _refusal(token: str | None, exc: InvalidToken) -> str:
    """A bounded reason: an expired token is routine (an old tab), an invalid one is not."""
    if not token:
        return "missing"
    return "expired" if isinstance(exc, TokenExpired) else "invalid"


def create_app(deps: RouteDeps) -> FastAPI:
    """The progress WebSocket and `/metrics` (health and readiness are the runner's)."""
    app = FastAPI(title="progress-gateway")
    app.state.route_deps = deps
    app.include_router(router)
    metrics.mount(app, deps.settings.metrics_bearer)
    # The gateway reads no request body (GETs and a WebSocket): refuse any before reading it.
    app.add_middleware(BodyLimitMiddleware, max_bytes=0)
    app.add_middleware(SecurityHeaders, csp=STATIC_PAGE_CSP)  # no pages, but no framing either
    return app
