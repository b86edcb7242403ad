"""Consistent snapshots of the live index database.

Never a raw copy of the live file: SQLite's online backup API copies the database as one read
transaction (writers carry on; in WAL mode they are not even blocked), the copy is switched to a
self-contained rollback journal, `PRAGMA integrity_check` must answer "ok", and only then is its
sha256 taken.

The live file also holds intake's private tables (requests, outbox, idempotency keys): with
`keep_tables`, every other table is dropped from the copy and the copy vacuumed, so the fleet
gets the index and nothing of the studios' requests.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from showcase_common.snapshots import sha256_file


class SnapshotError(Exception):
    """The index could not be snapshotted (missing, locked for too long, or corrupt)."""


@dataclass(frozen=True)
class LocalSnapshot:
    """A verified copy of the index, staged on local disk before upload."""

    path: Path
    sha256: str
    size: int
    showcase_ids: frozenset[int]
    """The showcases the copy holds: a request is only covered if its showcase is in here."""

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class Snapshotter:
    """Takes snapshots of the SQLite file at `db_path` into a staging directory."""

    def __init__(
        self,
        db_path: Path,
        *,
        keep_tables: Collection[str] = (),
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.db_path = Path(db_path)
        self.keep_tables = frozenset(keep_tables)
        """Tables the copy keeps (empty: all of them)."""
        self.busy_timeout_s = busy_timeout_s

    def take(self, dest_dir: Path) -> LocalSnapshot:
        if not self.db_path.is_file():
            raise SnapshotError(f"index database {self.db_path} does not exist")
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / f"index-{uuid.uuid4().hex}.sqlite3"
        try:
            self._backup_into(dest)
            showcase_ids = _verify(dest)
        except (sqlite3.Error, SnapshotError) as exc:
            dest.unlink(missing_ok=True)
            raise SnapshotError(f"snapshot of {self.db_path} failed: {exc}") from exc
        return LocalSnapshot(dest, sha256_file(dest), dest.stat().st_size, showcase_ids)

    def _backup_into(self, dest: Path) -> None:
        # mode=rw: never create an empty database where the index should be.
        uri = f"{self.db_path.resolve().as_uri()}?mode=rw"
        source = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout_s)
        target = sqlite3.connect(dest)
        try:
            source.backup(target)  # all pages in one step: one consistent read transaction
            # The copy must be one self-contained file, whatever the live journal mode.
            target.execute("PRAGMA journal_mode=DELETE").fetchall()
            if self.keep_tables:
                _strip(target, self.keep_tables)
        finally:
            target.close()
            source.close()


def _strip(db: sqlite3.Connection, keep: frozenset[str]) -> None:
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    dropped = [name for name in names if name not in keep]
    if not dropped:
        return
    db.execute("PRAGMA foreign_keys=OFF")
    for name in dropped:
        db.execute(f'DROP TABLE "{name.replace(chr(34), chr(34) * 2)}"')
    db.commit()
    db.execute("VACUUM")  # no page of a dropped table survives in the file


def _verify(path: Path) -> frozenset[int]:
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise SnapshotError(f"integrity_check: {'; '.join(map(str, result[:5]))}")
        has_showcases = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'showcase'"
        ).fetchone()
        if not has_showcases:
            return frozenset()
        return frozenset(row[0] for row in db.execute("SELECT id FROM showcase"))
