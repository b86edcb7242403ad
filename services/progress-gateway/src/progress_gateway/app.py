"""The HTTP surface: the progress WebSocket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, WebSocket
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.security_headers import STATIC_PAGE_CSP, SecurityHeaders
from showcase_common.tokens import InvalidToken, TokenExpired, verify_token

from progress_gateway import metrics, sockets
from progress_gateway.runtime import Runtime

router = APIRouter()


def _runtime(connection: WebSocket | Request) -> Runtime:
    return connection.app.state.runtime  # type: ignore[no-any-return]  # app.state is untyped; bootstrap sets it


@router.websocket("/ws/progress")
async def progress_socket(
    websocket: WebSocket, token: Annotated[str | None, Query()] = None
) -> None:
    runtime = _runtime(websocket)
    await websocket.accept()
    try:
        grant = verify_token(runtime.settings.progress_token_secret, token)
    except InvalidToken as exc:
        metrics.WEBSOCKETS_REFUSED.labels(_refusal(token, exc)).inc()
        # Accept first so the browser sees the reason (a refused handshake is an opaque 403).
        await websocket.close(sockets.CLOSE_UNAUTHORIZED, f"unauthorized: {exc}"[:120])
        return
    await sockets.serve(websocket, grant, runtime.store, runtime.feed)


def _refusal(token: str | None, exc: InvalidToken) -> str:
    """A bounded reason: an expired token is routine (an old tab), an invalid one is not."""
    if not token:
        return "missing"
    return "expired" if isinstance(exc, TokenExpired) else "invalid"


def create_app(runtime: Runtime) -> FastAPI:
    """The progress WebSocket and `/metrics` (health and readiness are the runner's)."""
    app = FastAPI(title="progress-gateway")
    app.state.runtime = runtime
    app.include_router(router)
    metrics.mount(app, runtime.settings.metrics_bearer)
    # The gateway reads no request body (GETs and a WebSocket): refuse any before reading it.
    app.add_middleware(BodyLimitMiddleware, max_bytes=0)
    app.add_middleware(SecurityHeaders, csp=STATIC_PAGE_CSP)  # no pages, but no framing either
    return app
