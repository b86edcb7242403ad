"""Idempotency-Key: a repeated POST with the same key and body answers with what its first POST
created (`use_cases`, `pipeline_idempotency_keys`); the same key with another body is refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


class IdempotencyMismatch(Exception):
    """The Idempotency-Key was already used with a different body."""

    reason = "idempotency_conflict"


@dataclass(frozen=True)
class Idempotency:
    """A POST's Idempotency-Key and the digest of its body (a repeat must send the same)."""

    key: str
    body_sha256: str


def body_digest(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
