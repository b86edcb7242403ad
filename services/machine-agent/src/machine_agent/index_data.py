"""Reading and checking an index snapshot: the Rails index (users, locations, showcases, regions).

The file also holds every other table of the Rails application (events, people, …), empty or
not: they are ignored here, as are any tables a newer application version adds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from showcase_common.index import Location, Region, Showcase, User
from showcase_common.index.schema import INDEX_TABLES
from sqlalchemy import create_engine
from sqlmodel import Session, col, select

REQUIRED_TABLES = INDEX_TABLES


class SnapshotRefused(Exception):
    """The snapshot is not a sound index database (checksum, integrity or schema)."""


@dataclass(frozen=True)
class IndexData:
    locations: list[Location]
    showcases: list[Showcase]
    users: list[User]
    regions: list[Region]


def check_integrity(path: Path) -> None:
    """`PRAGMA integrity_check` and the presence of the Rails tables; `SnapshotRefused` if not."""
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
    """The Rails tables of the index at `path`, read-only."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with Session(engine) as session:
            return IndexData(
                locations=list(session.exec(select(Location).order_by(Location.key))),
                showcases=list(session.exec(select(Showcase))),
                users=list(session.exec(select(User).order_by(col(User.id)))),
                regions=list(session.exec(select(Region).order_by(Region.code))),
            )
    except Exception as exc:  # columns that do not match the Rails models
        raise SnapshotRefused(f"cannot read the index: {exc}") from exc
    finally:
        engine.dispose()
