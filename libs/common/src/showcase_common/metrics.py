"""Prometheus metrics: the bus's own, written once here, and `/metrics` for every service.

Each service process has its own registry (prometheus-client's default one) and serves it at
`GET /metrics` on its HTTP port: intake, gateway and agents on their app, the syncer and the
updater on their health port. Names are `showcase_*` for what the shared code measures and
`<service>_*` for what one service measures; labels stay low-cardinality (never a request id).
"""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

# Seconds buckets for work that takes from a few milliseconds (a no-op) to minutes (a fleet).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

EVENTS_HANDLED = Counter(
    "showcase_events_handled_total",
    "Deliveries settled by the consumer loop: acked, retried (nak) or dead-lettered.",
    ["durable", "subject", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "showcase_handler_seconds",
    "Time a handler spent on one delivery (or one batch, in batch mode).",
    ["durable"],
    buckets=DURATION_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "showcase_events_published_total",
    "Events published and acknowledged by JetStream (duplicates: dropped by Nats-Msg-Id).",
    ["subject", "duplicate"],
)


def mount(app: FastAPI, token: str | None = None) -> None:
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
