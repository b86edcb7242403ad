"""Signing and checking an operator's rollback: the only way an agent takes an older generation.

The machine-updater signs each rollback call with the update secret it shares with the agents
(HMAC-SHA256 over the snapshot, the operator's name and the time); the agent checks the signature
and that it is fresh. A plain update naming an older generation carries no authorisation and is
refused (409) as always; a forged or stale one is refused (403).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from showcase_common.events import RollbackAuthorisation, Snapshot

MAX_AGE_S = 300.0
"""How long a signed rollback stays valid: the updater signs each attempt afresh."""


class RollbackRefused(Exception):
    """The rollback's authorisation does not verify: nothing is applied."""


def _message(snapshot: Snapshot, actor: str, issued_at: dt.datetime) -> bytes:
    fields = {
        "purpose": "showcase-rollback",
        "generation": snapshot.generation,
        "object_key": snapshot.object_key,
        "sha256": snapshot.sha256,
        "actor": actor,
        "issued_at": issued_at.astimezone(dt.UTC).isoformat(),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign(
    secret: str, snapshot: Snapshot, actor: str, *, now: dt.datetime | None = None
) -> RollbackAuthorisation:
    issued_at = now or dt.datetime.now(dt.UTC)
    digest = hmac.new(secret.encode(), _message(snapshot, actor, issued_at), hashlib.sha256)
    return RollbackAuthorisation(actor=actor, issued_at=issued_at, signature=digest.hexdigest())


def verify(
    secret: str,
    snapshot: Snapshot,
    authorisation: RollbackAuthorisation,
    *,
    now: dt.datetime | None = None,
    max_age_s: float = MAX_AGE_S,
) -> None:
    """Return when the rollback is authorised; raise `RollbackRefused` saying why not."""
    expected = sign(secret, snapshot, authorisation.actor, now=authorisation.issued_at)
    if not hmac.compare_digest(expected.signature, authorisation.signature):
        raise RollbackRefused("its signature does not verify (not signed with the update secret)")
    age = ((now or dt.datetime.now(dt.UTC)) - authorisation.issued_at).total_seconds()
    if not -60.0 <= age <= max_age_s:
        raise RollbackRefused(f"it was signed {age:.0f}s ago: too old (or from the future)")
