"""Intake's own metrics (served at `/metrics` with the bus's `showcase_*` ones).

Published events are not counted here: intake publishes through the shared `Publisher`, which
counts them as `showcase_events_published_total`. Labels are bounded sets: a route template
(never the raw path), a status class, a kind, a reason, an outcome.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from showcase_common.metrics import DURATION_BUCKETS, mount
from starlette.routing import Match, Mount
from starlette.types import Scope

HTTP_SECONDS = Histogram(
    "intake_http_request_seconds",
    "HTTP requests served (the count) and their duration, by route template and status class.",
    ["route", "status"],
    buckets=DURATION_BUCKETS,
)
SHOWCASES_CREATED = Counter(
    "intake_showcases_created_total",
    "Showcases saved: kind=studio_request (automation runs) or admin (e-mail, no automation).",
    ["kind"],
)
REFUSALS = Counter(
    "intake_refusals_total",
    "Requests refused, by reason: unauthenticated/bad_credentials (401), csrf/not_owner (403), "
    "too_large (413), invalid/unknown_location/taken/idempotency_conflict (422), "
    "busy (503: the database queue is full), "
    "throttled (429: too many failed logins for the login or from the address).",
    ["reason"],
)
OUTBOX_UNSENT = Gauge(
    "intake_outbox_unsent",
    "Outbox rows (ShowcaseCreated, RetryRequested) not yet acknowledged by JetStream, "
    "as of the relay's last pass.",
)
STUDIO_EMAILS = Counter(
    "intake_studio_emails_total",
    "Studios' e-mails about their requests: queued (recorded with the outcome), no_address "
    "(the requester has no e-mail address), then each attempt: sent, retry, rejected.",
    ["outcome"],
)
ADMIN_EMAILS = Counter(
    "intake_admin_emails_total",
    "Admin e-mail attempts: sent, retry (server down or 4xx: tried again later), "
    "rejected (5xx: given up).",
    ["outcome"],
)

__all__ = [
    "ADMIN_EMAILS",
    "HTTP_SECONDS",
    "OUTBOX_UNSENT",
    "REFUSALS",
    "SHOWCASES_CREATED",
    "STUDIO_EMAILS",
    "mount",
    "mount_prefix",
    "route_template",
    "status_class",
]


def mount_prefix(scope: Scope) -> str | None:
    """The prefix of the mount `scope` goes to (`/static`), if any; to be asked
    before the call, since a mount rewrites the scope's paths."""
    for route in getattr(scope.get("app"), "routes", ()):
        if isinstance(route, Mount) and route.matches(scope)[0] is Match.FULL:
            return route.path
    return None


def route_template(scope: Scope, mount: str | None) -> str:
    """The template of the route that served `scope` (`/api/requests/{request_id}`), never the
    raw path, so that each route is one series; "unmatched" for a 404 or a 413 refused before
    routing (the refusal is counted by reason)."""
    path = getattr(scope.get("route"), "path", None)  # set by the router once it matched
    return path if isinstance(path, str) else mount or "unmatched"


def status_class(status_code: int) -> str:
    return f"{status_code // 100}xx"
