"""The HTTP surface: the progress WebSocket (`sockets.ProgressSocketRoute`, in front of the
app's stack) and `/metrics`."""

from __future__ import annotations

from fastapi import FastAPI
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.security_headers import STATIC_PAGE_CSP, SecurityHeaders

from progress_gateway import metrics
from progress_gateway.route_deps import RouteDeps
from progress_gateway.sockets import ProgressSocketRoute


def gateway_app(deps: RouteDeps) -> FastAPI:
    """The progress WebSocket and `/metrics` (health and readiness are the runner's)."""
    app = FastAPI(title="progress-gateway")
    app.state.route_deps = deps
    metrics.mount(app, deps.settings.metrics_bearer)
    # The gateway reads no request body (GETs and a WebSocket): refuse any before reading it.
    app.add_middleware(BodyLimitMiddleware, max_bytes=0)
    app.add_middleware(SecurityHeaders, csp=STATIC_PAGE_CSP)  # no pages, but no framing either
    # Added last, so outermost: a WebSocket holds only its own handler's frames while open.
    app.add_middleware(ProgressSocketRoute, deps=deps)
    return app
