"""The bus's own Prometheus metrics (`showcase_*`), written once: the consumer loop and the
publisher count here. Only prometheus-client: serving them over HTTP is
`showcase_common.metrics.mount` (the `web` extra)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["DURATION_BUCKETS", "EVENTS_HANDLED", "EVENTS_PUBLISHED", "HANDLER_SECONDS"]

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
