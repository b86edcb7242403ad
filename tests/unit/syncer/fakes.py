"""In-memory fakes of the syncer's ports; each subclasses the real one."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.js.api import PubAck
from showcase_common import events
from showcase_common.bus import Delivery, Publisher
from showcase_common.snapshots import (
    GenerationTaken,
    PointerConflict,
    SnapshotStore,
    SnapshotStoreError,
    StoredGeneration,
)
from syncer.ledger import SyncLedger
from syncer.snapshot import LocalSnapshot, Snapshotter


class FakeStore(SnapshotStore):
    """Objects in a dict; `outage` failing calls raise like an unreachable endpoint."""

    def __init__(self) -> None:
        super().__init__(client=None, bucket="fake")
        self.objects: dict[str, bytes] = {}
        self.modified: dict[str, dt.datetime] = {}
        self.pointer: events.Snapshot | None = None
        self.pointer_etag: str | None = None
        self.outage = 0
        self.listing_outage = 0
        self.uploads: list[int] = []
        self.before_advance: list[Any] = []
        """Callbacks run once just before the pointer write (a racing syncer)."""

    def _maybe_fail(self) -> None:
        if self.outage:
            self.outage -= 1
            raise SnapshotStoreError("EndpointConnectionError: connection refused")

    def check_bucket(self) -> None:
        self._maybe_fail()

    def latest(self) -> tuple[events.Snapshot | None, str | None]:
        self._maybe_fail()
        return self.pointer, self.pointer_etag

    def upload(self, path: Path, generation: int, sha256: str) -> events.Snapshot:
        self._maybe_fail()
        key = self.generation_key(generation)
        if key in self.objects:
            raise GenerationTaken(key)
        data = path.read_bytes()
        self.objects[key] = data
        self.modified[key] = dt.datetime.now(dt.UTC)
        self.uploads.append(generation)
        return events.Snapshot(generation=generation, object_key=key, sha256=sha256, size=len(data))

    def advance_pointer(self, snapshot: events.Snapshot, expected_etag: str | None) -> None:
        self._maybe_fail()
        while self.before_advance:
            self.before_advance.pop(0)()
        if expected_etag != self.pointer_etag:
            raise PointerConflict("moved")
        self.force_pointer(snapshot)

    def force_pointer(self, snapshot: events.Snapshot) -> None:
        self.pointer, self.pointer_etag = snapshot, uuid.uuid4().hex

    def upload_legacy(self, path: Path, generation: int | None = None) -> None:
        self._maybe_fail()
        self.objects[self.legacy_key] = path.read_bytes()

    def list_generations(self) -> list[StoredGeneration]:
        self._maybe_fail()
        if self.listing_outage:
            self.listing_outage -= 1
            raise SnapshotStoreError("AccessDenied: s3:ListBucket")
        return sorted(
            (
                StoredGeneration(int(Path(key).stem), key, self.modified[key])
                for key in self.objects
                if key.startswith(f"{self.prefix}/generations/")
            ),
            key=lambda g: g.generation,
        )

    def delete(self, keys: list[str]) -> None:
        self._maybe_fail()
        for key in keys:
            self.objects.pop(key, None)

    def generations(self) -> list[int]:
        return [g.generation for g in self.list_generations()]


class FakeSnapshotter(Snapshotter):
    """Snapshots whose content is a counter; `showcase_ids` is what the copy holds."""

    def __init__(self, showcase_ids: Iterable[int] = ()) -> None:
        super().__init__(Path("unused"))
        self.showcase_ids = set(showcase_ids)
        self.taken = 0

    def take(self, dest_dir: Path) -> LocalSnapshot:
        self.taken += 1
        dest_dir.mkdir(parents=True, exist_ok=True)
        path = dest_dir / f"snap-{uuid.uuid4().hex}.sqlite3"
        data = f"snapshot {self.taken}".encode()
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        return LocalSnapshot(path, sha, len(data), frozenset(self.showcase_ids))


class FakePublisher(Publisher):
    """Keeps what was published; drops a repeated msg id like JetStream does."""

    def __init__(self) -> None:
        super().__init__(js=None)  # type: ignore[arg-type]
        self.published: list[tuple[events.Event, str]] = []

    async def publish(self, event: events.Event, *, msg_id: str | None = None) -> PubAck:
        msg_id = msg_id or event.event_id
        duplicate = any(m == msg_id for _, m in self.published)
        if not duplicate:
            self.published.append((event, msg_id))
        return PubAck(stream="SHOWCASE", seq=len(self.published), duplicate=duplicate or None)

    def of(self, kind: type[events.Event]) -> list[Any]:
        return [e for e, _ in self.published if isinstance(e, kind)]


class MemoryLedger(SyncLedger):
    def __init__(self) -> None:
        self.entries: dict[str, int] = {}

    async def generation_of(self, request_id: str) -> int | None:
        return self.entries.get(request_id)

    async def record(self, request_ids: Iterable[str], generation: int) -> None:
        for request_id in request_ids:
            self.entries.setdefault(request_id, generation)


@dataclass
class FakeDelivery(Delivery):
    """A delivery without a NATS message: counts heartbeats."""

    msg: Any = None
    delivered: int = 1
    heartbeats: int = field(default=0)

    @property
    def attempt(self) -> int:
        return self.delivered

    @property
    def stream_seq(self) -> int:
        return 0

    async def in_progress(self) -> None:
        self.heartbeats += 1


def request(n: int, showcase_id: int | None = None) -> events.RequestRef:
    showcase = events.ShowcaseRef(
        showcase_id=showcase_id if showcase_id is not None else n,
        year=2026,
        location_key="boston",
        key=f"show-{n}",
        name=f"Show {n}",
    )
    return events.RequestRef(
        request_id=f"r{n}", user="studio", showcase=showcase, redirect_url=f"http://x/{n}/"
    )


def created(n: int, **kwargs: Any) -> FakeDelivery:
    return FakeDelivery(events.ShowcaseCreated(request=request(n)), **kwargs)
