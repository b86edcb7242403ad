"""A rollback's authorisation: signed with the update secret, naming the operator, fresh."""

from __future__ import annotations

import datetime as dt

import pytest
from showcase_common import rollback_auth
from showcase_common.events import Snapshot, UpdateConfig

SECRET = "test-machine-update-secret-of-32-bytes"
G1 = Snapshot(
    generation=1, object_key="db/generations/000000000001.sqlite3", sha256="a" * 64, size=9
)
NOW = dt.datetime(2026, 12, 3, 6, 0, tzinfo=dt.UTC)


def test_a_signed_rollback_verifies_and_travels_in_the_update_body() -> None:
    auth = rollback_auth.sign(SECRET, G1, "alice", now=NOW)
    rollback_auth.verify(SECRET, G1, auth, now=NOW + dt.timedelta(seconds=30))
    body = UpdateConfig.model_validate(
        {**G1.model_dump(), "rollback": auth.model_dump(mode="json")}
    )
    assert body.snapshot == G1 and body.rollback == auth


@pytest.mark.parametrize(
    ("secret", "snapshot", "actor", "why"),
    [
        ("another-secret-of-at-least-32-bytes!!", G1, "alice", "does not verify"),
        (SECRET, G1.model_copy(update={"generation": 2}), "alice", "does not verify"),
        (SECRET, G1.model_copy(update={"sha256": "b" * 64}), "alice", "does not verify"),
        (SECRET, G1, "mallory", "does not verify"),
    ],
    ids=["wrong-secret", "other-generation", "other-bytes", "other-operator"],
)
def test_a_forged_or_altered_rollback_is_refused(
    secret: str, snapshot: Snapshot, actor: str, why: str
) -> None:
    signed = rollback_auth.sign(secret, G1, "alice", now=NOW)
    claimed = signed.model_copy(update={"actor": actor})
    with pytest.raises(rollback_auth.RollbackRefused, match=why):
        rollback_auth.verify(SECRET, snapshot, claimed, now=NOW)


def test_a_stale_rollback_is_refused() -> None:
    auth = rollback_auth.sign(SECRET, G1, "alice", now=NOW)
    with pytest.raises(rollback_auth.RollbackRefused, match="too old"):
        rollback_auth.verify(SECRET, G1, auth, now=NOW + dt.timedelta(minutes=10))
