"""Which snapshot is the newest announced (the stream's last IndexSynced): lets a newer generation supersede a running roll-out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from showcase_common import subjects
from showcase_common.events import IndexSynced, Snapshot, UndecodableEvent, decode

log = logging.getLogger(__name__)


MAX_ANNOUNCED_PER_READ = 100
"""Bounds one `announced_after` walk; the rest is read on the next call."""


@dataclass(frozen=True)
class Announced:
    """An IndexSynced and its position in the stream."""

    seq: int
    event: IndexSynced


class SnapshotLookup(Protocol):
    """What `SharedLookups` shares: the snapshot of the newest IndexSynced, if any."""

    async def newest(self) -> Snapshot | None: ...


class NewestSnapshot(SnapshotLookup, Protocol):
    """The port: the snapshot of the newest IndexSynced, if any, and the IndexSynced stored
    after a position (a held roll-out tells the requests synced behind it that they wait)."""

    async def announced_after(self, seq: int | None) -> list[Announced]:
        """The IndexSynced stored after stream position `seq`, oldest first (None: the last)."""
        ...


class StreamNewestSnapshot:
    """Reads the stream's last message on the IndexSynced subject (one cheap direct get)."""

    def __init__(self, js: JetStreamContext | Callable[[], JetStreamContext]) -> None:
        self._js = js if callable(js) else (lambda: js)

    async def newest(self) -> Snapshot | None:
        try:
            msg = await self._js().get_last_msg(subjects.STREAM, subjects.INDEX_SYNCED)
            event = decode(subjects.INDEX_SYNCED, msg.data or b"")
        except NotFoundError:
            return None
        except (UndecodableEvent, Exception) as exc:
            # Without the probe a roll-out simply keeps its own target: degrade, do not fail.
            log.warning("could not read the newest IndexSynced: %s", exc)
            return None
        return event.snapshot if isinstance(event, IndexSynced) else None

    async def announced_after(self, seq: int | None) -> list[Announced]:
        js = self._js()
        found: list[Announced] = []
        try:
            if seq is None:
                msg = await js.get_last_msg(subjects.STREAM, subjects.INDEX_SYNCED)
                return _announced(msg.seq, msg.data)
            while len(found) < MAX_ANNOUNCED_PER_READ:
                msg = await js.get_msg(
                    subjects.STREAM, seq + 1, subject=subjects.INDEX_SYNCED, next=True
                )
                if msg.seq is None or msg.seq <= seq:
                    break
                found += _announced(msg.seq, msg.data)
                seq = msg.seq
        except NotFoundError:
            pass  # nothing (more) stored on the subject
        return found


def _announced(seq: int | None, data: bytes | None) -> list[Announced]:
    try:
        event = decode(subjects.INDEX_SYNCED, data or b"")
    except UndecodableEvent as exc:
        log.warning("skipping an undecodable IndexSynced at %s: %s", seq, exc)
        return []
    return [Announced(seq, event)] if seq is not None and isinstance(event, IndexSynced) else []


class SharedLookups:
    """The newest snapshot, concurrent lookups sharing one: when the machines of a roll-out start
    together, each asks for the newest snapshot before its update, and one read of the stream
    answers all of them (a lookup asked while another is in flight gets that one's answer)."""

    def __init__(self, source: SnapshotLookup) -> None:
        self._source = source
        self._in_flight: asyncio.Future[Snapshot | None] | None = None

    async def newest(self) -> Snapshot | None:
        if self._in_flight is None or self._in_flight.done():  # a finished read is not reused
            self._in_flight = asyncio.ensure_future(self._source.newest())
        return await asyncio.shield(self._in_flight)
