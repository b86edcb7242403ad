"""The gateway's own metrics (served at `/metrics` with the bus's `showcase_*` ones).

Events the projector handled, and how long it took, are the consumer loop's
`showcase_events_handled_total{durable="progress-projector"}` and `showcase_handler_seconds`;
what is counted here is per request and per connection. Labels are bounded sets only.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from showcase_common.metrics import mount

WEBSOCKETS_OPEN = Gauge(
    "gateway_websockets_open",
    "Progress WebSockets this process is serving now (authorised connections only).",
)
WEBSOCKETS_REFUSED = Counter(
    "gateway_websockets_refused_total",
    "WebSockets closed with 4401 on opening, by reason: token missing, invalid "
    "(forged, malformed, another secret) or expired.",
    ["reason"],
)
WEBSOCKETS_CLOSED = Counter(
    "gateway_websockets_closed_total",
    "Authorised WebSockets that ended, by reason: client (the browser left), token_expired "
    "(4401 while open), store_unavailable (1013: the progress bucket could not be read).",
    ["reason"],
)
MESSAGES_SENT = Counter(
    "gateway_messages_sent_total",
    "Progress messages sent to browsers: initial (a request's state on connecting) or change.",
    ["kind"],
)
PROJECTIONS = Counter(
    "gateway_projections_total",
    "Request states the projector worked out, one per request an event names: written, "
    "skipped (already applied, or no change), conflict (another replica wrote first: re-read).",
    ["outcome"],
)

__all__ = [
    "MESSAGES_SENT",
    "PROJECTIONS",
    "WEBSOCKETS_CLOSED",
    "WEBSOCKETS_OPEN",
    "WEBSOCKETS_REFUSED",
    "mount",
]
