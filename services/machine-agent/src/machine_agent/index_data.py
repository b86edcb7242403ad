"""Reading and checking an index snapshot (an SQLite file with the shared tables).

The snapshot also holds intake-only tables (requests, outbox, ...): they are ignored here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from showcase_common.index.models import Location, Showcase, User
from sqlalchemy import create_engine
from sqlmodel import Session, select

REQUIRED_TABLES = frozenset({Location.__tablename__, Showcase.__tablename__, User.__tablename__})


class SnapshotRefused(Exception):
    """The snapshot is not a sound index database (checksum, integrity or schema)."""


@dataclass(frozen=True)
class IndexData:
    locations: list[Location]
    showcases: list[Showcase]
    users: list[User]


def check_integrity(path: Path) -> None:
    """`PRAGMA integrity_check` and the presence of the shared tables; `SnapshotRefused` if not."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise SnapshotRefused(f"not a sound SQLite database: {exc}") from exc
    if rows != [("ok",)]:
        problems = "; ".join(str(r[0]) for r in rows[:3])
        raise SnapshotRefused(f"PRAGMA integrity_check failed: {problems}")
    missing = REQUIRED_TABLES - tables
    if missing:
        raise SnapshotRefused(f"index lacks table(s) {', '.join(sorted(missing))}")


def read_index(path: Path) -> IndexData:
    """The shared tables of the index at `path`, read-only."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with Session(engine) as session:
            return IndexData(
                locations=list(session.exec(select(Location).order_by(Location.key))),
                showcases=list(session.exec(select(Showcase))),
                users=list(session.exec(select(User).order_by(User.userid))),
            )
    except Exception as exc:  # a schema that does not match the shared models
        raise SnapshotRefused(f"cannot read the index: {exc}") from exc
    finally:
        engine.dispose()
