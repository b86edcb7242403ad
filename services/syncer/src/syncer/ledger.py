"""Which requests a published generation already covers (JetStream KV `sync_ledger`).

Key: the request id; value: the generation that first covered it, as decimal text. A
redelivered or replayed `ShowcaseCreated` whose request is in here uploads nothing: its
`IndexSynced` was published (with its PubAck) before the entry was written.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Protocol

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

_VALID_KEY = re.compile(r"[-/_=.a-zA-Z0-9]+")


class SyncLedger(Protocol):
    """The port: the real one is `KvLedger`; tests use `tests/support/fakes.MemoryLedger`."""

    async def generation_of(self, request_id: str) -> int | None:
        """The generation that first covered the request, None if none did."""

    async def record(self, request_ids: Iterable[str], generation: int) -> None:
        """Remember that `generation` covers these requests (first writer wins)."""


class KvLedger:
    """The ledger in KV; `kv` is the bucket, or a function returning it (the runner's link)."""

    def __init__(self, kv: KeyValue | Callable[[], KeyValue]) -> None:
        self._bucket = kv if callable(kv) else (lambda: kv)

    @property
    def _kv(self) -> KeyValue:
        return self._bucket()

    async def generation_of(self, request_id: str) -> int | None:
        try:
            entry = await self._kv.get(ledger_key(request_id))
        except KeyNotFoundError:  # KeyDeletedError is a subclass
            return None
        return int(entry.value) if entry.value else None

    async def record(self, request_ids: Iterable[str], generation: int) -> None:
        for request_id in request_ids:
            # create, not put: the first covering generation stays
            with contextlib.suppress(KeyWrongLastSequenceError):
                await self._kv.create(ledger_key(request_id), str(generation).encode())


def ledger_key(request_id: str) -> str:
    """The KV key of a request (ids outside NATS' key alphabet are hashed)."""
    if _VALID_KEY.fullmatch(request_id) and not request_id.startswith("."):
        return request_id
    return "h." + hashlib.sha256(request_id.encode()).hexdigest()
