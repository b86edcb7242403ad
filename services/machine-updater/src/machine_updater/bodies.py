"""The body an `update_config` machine receives: the snapshot's bytes, gzipped.

The snapshot is the syncer's S3 copy of the Rails index (the Rails tables only, `pipeline_*`
stripped), so gunzipping the body gives exactly the object the agents download, byte for byte.
One roll-out downloads it once, verified against its sha256, and every machine gets the same
bytes (the Rails job also gzips once per run).
"""

from __future__ import annotations

import asyncio
import gzip
import tempfile
from pathlib import Path
from typing import Protocol

from showcase_common.events import Snapshot
from showcase_common.snapshots import SnapshotStore, SnapshotStoreError

from machine_updater.client import MachineError


class SnapshotBodies(Protocol):
    """The port: a snapshot's bytes, gzipped, as `update_config` takes them."""

    async def gzipped(self, snapshot: Snapshot) -> bytes: ...


class StoreBodies:
    """Downloads each generation once from the snapshot store (checksum verified) and keeps the
    newest gzipped body in memory."""

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store
        self._cached: tuple[int, bytes] | None = None
        self._lock = asyncio.Lock()  # one download, however many machines ask at once

    async def gzipped(self, snapshot: Snapshot) -> bytes:
        async with self._lock:
            if self._cached is None or self._cached[0] != snapshot.generation:
                body = await asyncio.to_thread(self._download_gzipped, snapshot)
                self._cached = (snapshot.generation, body)
            return self._cached[1]

    def _download_gzipped(self, snapshot: Snapshot) -> bytes:
        with tempfile.TemporaryDirectory(prefix="update-config-") as tmp:
            path = Path(tmp) / "index.sqlite3"
            try:
                self._store.download(snapshot, path)
            except SnapshotStoreError as exc:
                raise MachineError(
                    f"could not get snapshot {snapshot.object_key} to send: {exc}",
                    "storage_unavailable",
                ) from exc
            return gzip.compress(path.read_bytes(), mtime=0)
