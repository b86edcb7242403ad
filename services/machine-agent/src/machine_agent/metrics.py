"""The agent's own metrics, served at `GET /metrics` on its app.

No label names a showcase or a snapshot: outcomes and phases are a fixed handful of values.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram
from showcase_common.metrics import DURATION_BUCKETS

UPDATES = Counter(
    "agent_updates_total",
    "update_config calls by outcome: applied, no_op (generation already served), stale (409), "
    "refused (422), store_unavailable (503), timeout (504, goes on in the background), "
    "failed (500), unauthorized (401).",
    ["outcome"],
)
APPLY_SECONDS = Histogram(
    "agent_apply_seconds",
    "Time of each phase of a successful apply (download, verify, swap, regenerate, prerender, "
    "page: the new showcases' pages checked) and its total; boot catch-up included.",
    ["phase"],
    buckets=DURATION_BUCKETS,
)
PAGES_RENDERED = Counter(
    "agent_pages_rendered_total",
    "Showcase and studio pages rendered (those whose inputs changed; unchanged pages are kept).",
)
PAGES_REFUSED = Counter(
    "agent_pages_refused_total",
    "Sidecar mode: page requests answered 404 without reaching the application because their "
    "path is not a showcase page (dot segments, escapes, other shapes).",
)
GENERATION = Gauge(
    "agent_generation",
    "The index generation this machine serves (0 before its first).",
)


def applied(generation: int, timings: Mapping[str, float], pages_rendered: int) -> None:
    """A successful apply: its phases' seconds, the pages it rendered, the generation now served.

    Plain values, not the applier's result: this module measures the applier without importing it."""
    for phase, seconds in timings.items():
        APPLY_SECONDS.labels(phase).observe(seconds)
    PAGES_RENDERED.inc(pages_rendered)
    GENERATION.set(generation)
