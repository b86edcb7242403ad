"""Where request progress lives: the port and its JetStream key-value adapter.

Writes are compare-and-set on the key's revision, so two replicas projecting events of the same
request never overwrite each other's update: the loser re-reads and re-applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nats.js.errors import (
    InvalidKeyError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue

from progress_gateway.projection import ProjectedProgress


class StaleRevision(Exception):
    """Someone else wrote the key since it was read: read again and retry."""


class InvalidRequestId(ValueError):
    """The request id cannot be a key (never stored; retrying cannot help)."""


class StoreUnavailable(Exception):
    """The store could not be reached (worth retrying later)."""


@dataclass(frozen=True)
class Versioned:
    progress: ProjectedProgress
    revision: int


class ProgressStore(Protocol):
    async def read(self, request_id: str) -> Versioned | None:
        """The request's state and its revision, None when nothing is stored yet."""

    async def write(self, progress: ProjectedProgress, expected_revision: int | None) -> int:
        """Store `progress` if the key is still at `expected_revision` (None: absent).

        Returns the new revision; raises `StaleRevision` otherwise.
        """


def decode(value: bytes | None, revision: int) -> Versioned | None:
    if not value:
        return None
    return Versioned(ProjectedProgress.model_validate_json(value), revision)


class KvProgressStore:
    """The `request_state` bucket: key = request id, value = `ProjectedProgress` JSON.

    `bucket` gives the bucket once NATS is up (the runner's link) and raises until then: the
    store is unavailable meanwhile (sockets are closed with 1013, events are retried)."""

    def __init__(self, bucket: Callable[[], KeyValue]) -> None:
        self._bucket = bucket

    def _kv(self) -> KeyValue:
        try:
            return self._bucket()
        except ConnectionError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def read(self, request_id: str) -> Versioned | None:
        kv = self._kv()
        try:
            entry = await kv.get(request_id)
        except (KeyNotFoundError, KeyDeletedError, InvalidKeyError):
            return None  # an id that cannot be a key has no state either
        except Exception as exc:
            raise StoreUnavailable(str(exc)) from exc
        return decode(entry.value, entry.revision or 0)

    async def write(self, progress: ProjectedProgress, expected_revision: int | None) -> int:
        value = progress.model_dump_json().encode()
        kv = self._kv()
        try:
            if expected_revision is None:
                return await kv.create(progress.request_id, value)
            return await kv.update(progress.request_id, value, last=expected_revision)
        except InvalidKeyError as exc:
            raise InvalidRequestId(progress.request_id) from exc
        except KeyWrongLastSequenceError as exc:
            raise StaleRevision(progress.request_id) from exc
        except Exception as exc:
            if "wrong last sequence" in str(exc):  # create() reports a race this way
                raise StaleRevision(progress.request_id) from exc
            raise StoreUnavailable(str(exc)) from exc
