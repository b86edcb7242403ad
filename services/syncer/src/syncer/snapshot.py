"""Consistent snapshots of the live index database: the Rails index, nothing of the pipeline's.

Never a raw copy of the live file: SQLite's online backup API copies the database as one read
transaction (writers carry on; in WAL mode they are not even blocked), the copy is switched to a
self-contained rollback journal, `PRAGMA integrity_check` must answer "ok", and only then is its
sha256 taken.

The live file is the Rails application's index, with the pipeline's own tables beside the Rails
ones (outbox, idempotency keys, requests…, all named `pipeline_*`). In the COPY every
`pipeline_*` table is dropped (its indexes and triggers go with it) and the copy vacuumed, so no
page of a studio's request survives in it; every other table — Rails' own, the application's
(events, people…), `schema_migrations`, `ar_internal_metadata` — keeps its definition and rows
exactly. The source file is only ever read. A file that is not a Rails index is refused: the fleet
must never get anything else.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from showcase_common.index import PIPELINE_PREFIX, is_rails_index, table_names
from showcase_common.snapshots import sha256_file


class SnapshotError(Exception):
    """The index could not be snapshotted (missing, locked for too long, corrupt, not Rails)."""


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


class SnapshotTaker(Protocol):
    """The port: consistent copies of the index; `Snapshotter` is the SQLite adapter."""

    def take(self, dest_dir: Path) -> LocalSnapshot:
        """A verified copy of the index in `dest_dir`; raises `SnapshotError`."""


class Snapshotter:
    """Takes snapshots of the SQLite file at `db_path` into a staging directory."""

    def __init__(self, db_path: Path, *, busy_timeout_s: float = 30.0) -> None:
        self.db_path = Path(db_path)
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
            strip_pipeline_tables(target)
        finally:
            target.close()
            source.close()


def strip_pipeline_tables(db: sqlite3.Connection) -> list[str]:
    """Drop every `pipeline_*` table of `db` (a copy!) and vacuum; the names dropped."""
    dropped = sorted(name for name in table_names(db) if name.startswith(PIPELINE_PREFIX))
    if not dropped:
        return []
    # A Rails table never references a pipeline table, but a pipeline table may reference
    # Rails ones: with foreign keys off, dropping it checks nothing and deletes nothing else.
    db.execute("PRAGMA foreign_keys=OFF")
    for name in dropped:
        db.execute(f'DROP TABLE "{name.replace(chr(34), chr(34) * 2)}"')  # indexes go with it
    db.commit()
    db.execute("VACUUM")  # no page of a dropped table survives in the file
    return dropped


def _verify(path: Path) -> frozenset[int]:
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise SnapshotError(f"integrity_check: {'; '.join(map(str, result[:5]))}")
        tables = table_names(db)
        if not is_rails_index(tables):
            raise SnapshotError(
                "not a Rails index (it lacks users, locations, showcases or regions): "
                f"tables {', '.join(sorted(tables)) or 'none'}"
            )
        return frozenset(row[0] for row in db.execute("SELECT id FROM showcases"))
