"""Prometheus metrics: the bus's own, written once here, and `/metrics` for every service.

Each service process has its own registry (prometheus-client's default one) and serves it at
`GET /metrics` on its HTTP port: intake, gateway and agents on their app, the syncer and the
updater on their health port. Names are `showcase_*` for what the shared code measures and
`<service>_*` for what one service measures; labels stay low-cardinality (never a request id).
"""

from __future__ import annotations

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


def mount(app: FastAPI) -> None:
    """Serve this process's metrics at `/metrics` (Prometheus text format).

    A plain route rather than a mounted ASGI app: a mount answers `/metrics` with a redirect to
    `/metrics/`, one more round trip per scrape and a stray 3xx in intake's request metrics."""
    app.add_route("/metrics", _exposition, include_in_schema=False)


async def _exposition(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
