"""Prometheus metrics: `/metrics` for every service (the bus's own are `showcase_common.bus.metrics`,
re-exported here).

Each service process has its own registry (prometheus-client's default one) and serves it at
`GET /metrics` on its HTTP port: intake, gateway and agents on their app, the syncer and the
updater on their health port. Names are `showcase_*` for what the shared code measures and
`<service>_*` for what one service measures; labels stay low-cardinality (never a request id).
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from showcase_common.bus.metrics import (
    DURATION_BUCKETS,
    EVENTS_HANDLED,
    EVENTS_PUBLISHED,
    HANDLER_SECONDS,
)

__all__ = ["DURATION_BUCKETS", "EVENTS_HANDLED", "EVENTS_PUBLISHED", "HANDLER_SECONDS", "mount"]


def mount(app: Starlette, token: str | None = None) -> None:
    """Serve this process's metrics at `/metrics` (Prometheus text format); with `token`, only
    to `Authorization: Bearer <token>` (for a service the internet can reach: intake, agents).

    A plain route rather than a mounted ASGI app: a mount answers `/metrics` with a redirect to
    `/metrics/`, one more round trip per scrape and a stray 3xx in intake's request metrics."""

    async def exposition(request: Request) -> Response:
        if token and not _bearer_matches(request, token):
            return Response(
                "metrics need the bearer token (METRICS_TOKEN)\n",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_route("/metrics", exposition, include_in_schema=False)


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
