"""The one declaration of who publishes what (`showcase_common.roles`) covers every event, and
the permissions derived from it are what nats-server is given (tested live in
tests/integration/common/test_nats_permissions.py)."""

from __future__ import annotations

from showcase_common import events, subjects
from showcase_common.bus.connection import shown_url
from showcase_common.roles import (
    OPERATOR_ONLY_EVENTS,
    ROLES,
    nats_permissions,
    publish_allowed,
    role,
)


def _event_types(base: type[events.Event] = events.Event) -> list[type[events.Event]]:
    found = []
    for sub in base.__subclasses__():
        found += [sub, *_event_types(sub)]
    return found


def test_every_event_has_a_declared_publisher() -> None:
    """A new event without a line in roles.py would be refused by nats-server at run time."""
    published = {s for r in ROLES for s in r.publishes} | set(OPERATOR_ONLY_EVENTS)
    missing = {e.__name__ for e in _event_types() if e.subject not in published}
    assert not missing, f"add who publishes these to showcase_common/roles.py: {sorted(missing)}"


def test_a_service_may_publish_its_events_and_its_own_consumers_api_only() -> None:
    updater = publish_allowed(role("machine-updater"))
    assert subjects.FLEET_UPDATED in updater and subjects.SHOWCASE_CREATED not in updater
    assert "$JS.API.CONSUMER.MSG.NEXT.SHOWCASE.machine-updater" in updater
    assert "$JS.API.CONSUMER.MSG.NEXT.SHOWCASE.syncer" not in updater
    assert "showcase_dlq.machine-updater" in updater and "showcase_dlq.syncer" not in updater
    assert not any(s == ">" or s.startswith("$JS.API.STREAM.DELETE") for s in updater)
    assert nats_permissions(role("showcasectl"))["publish"] == {"allow": [">"]}
    assert nats_permissions(role("intake"))["subscribe"] == {"allow": ["_INBOX.>"]}


def test_logs_never_show_a_nats_password() -> None:
    url = "nats://syncer:s3cret-pass@a:4222,nats://syncer:s3cret-pass@b:4222"
    assert shown_url(url) == "nats://syncer:***@a:4222,nats://syncer:***@b:4222"
    assert shown_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
