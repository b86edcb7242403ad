"""A snapshot store in memory: the real `SnapshotStore` port, without S3."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from showcase_common.events import Snapshot
from showcase_common.snapshots import ChecksumMismatch, SnapshotStore, SnapshotStoreError


class FakeSnapshotStore(SnapshotStore):
    def __init__(self) -> None:
        super().__init__(client=None, bucket="fake")
        self.objects: dict[str, bytes] = {}
        self.pointer: Snapshot | None = None
        self.down = False
        self.downloads: list[int] = []
        self.gate: threading.Event | None = None
        """When set, downloads wait for it (a slow store)."""

    def _check_up(self) -> None:
        if self.down:
            raise SnapshotStoreError("EndpointConnectionError: store is down")

    def check_bucket(self) -> None:
        self._check_up()

    def latest(self) -> tuple[Snapshot | None, str | None]:
        self._check_up()
        return self.pointer, (str(self.pointer.generation) if self.pointer else None)

    def upload(self, path: Path, generation: int, sha256: str) -> Snapshot:
        self._check_up()
        key = self.generation_key(generation)
        self.objects[key] = path.read_bytes()
        return Snapshot(
            generation=generation, object_key=key, sha256=sha256, size=len(self.objects[key])
        )

    def advance_pointer(self, snapshot: Snapshot, expected_etag: str | None) -> None:
        self._check_up()
        self.pointer = snapshot

    def download(self, snapshot: Snapshot, dest: Path) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        self._check_up()
        self.downloads.append(snapshot.generation)
        data = self.objects.get(snapshot.object_key)
        if data is None:
            raise SnapshotStoreError(f"NoSuchKey: {snapshot.object_key}")
        dest.write_bytes(data)
        if hashlib.sha256(data).hexdigest() != snapshot.sha256:
            dest.unlink()
            raise ChecksumMismatch(f"snapshot {snapshot.object_key} checksum differs")
