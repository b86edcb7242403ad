"""Reading and checking an index snapshot: the Rails index (users, locations, showcases, regions).

The file also holds every other table of the Rails application (events, people, …), empty or
not: they are ignored here, as are any tables or columns a newer application version adds.

Read with the standard library's `sqlite3` into plain records, not through the SQLModel tables
the writers use: the agent runs beside the Rails application on every machine, and SQLAlchemy
alone would cost it ~40 MiB (docs/performance.md). The records offer what
`showcase_common.index.rows` asks for, so the shared derivations (showcases.yml, regions)
take them as they take the writers' rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from showcase_common.index.rows import LocationRow, RegionRow, ShowcaseRow, UserRow
from showcase_common.index.schema import INDEX_TABLES

REQUIRED_TABLES = INDEX_TABLES


class SnapshotRefused(Exception):
    """The snapshot is not a sound index database (checksum, integrity or schema)."""


@dataclass(frozen=True, slots=True)
class Location:
    """A `locations` row, as the agent reads it."""

    id: int | None
    key: str | None
    name: str | None
    logo: str | None
    latitude: float | None
    longitude: float | None
    user_id: int | None
    region: str | None
    sisters: str | None
    trust_level: int | None
    locale: str | None


@dataclass(frozen=True, slots=True)
class Showcase:
    """A `showcases` row, as the agent reads it."""

    id: int | None
    year: int | None
    key: str | None
    name: str | None
    location_id: int
    order: int | None
    date: str | None


@dataclass(frozen=True, slots=True)
class User:
    """A `users` row, as the agent reads it (what htpasswd needs, and who it is)."""

    id: int | None
    userid: str | None
    password: str | None
    email: str | None
    name1: str | None
    name2: str | None
    token: str | None
    link: str | None
    sites: str | None


@dataclass(frozen=True, slots=True)
class Region:
    """A `regions` row, as the agent reads it."""

    id: int | None
    type: str | None
    code: str | None
    location: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class IndexData:
    locations: Sequence[LocationRow]
    showcases: Sequence[ShowcaseRow]
    users: Sequence[UserRow]
    regions: Sequence[RegionRow]


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
    """The Rails tables of the index at `path`, read-only; `SnapshotRefused` when a column the
    agent reads is missing."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return IndexData(
                locations=_rows(conn, Location, "locations", "ORDER BY key"),
                showcases=_rows(conn, Showcase, "showcases"),
                users=_rows(conn, User, "users", "ORDER BY id"),
                regions=_rows(conn, Region, "regions", "ORDER BY code"),
            )
        finally:
            conn.close()
    except sqlite3.Error as exc:  # columns that do not match the Rails tables
        raise SnapshotRefused(f"cannot read the index: {exc}") from exc


Row = TypeVar("Row")


def _rows(conn: sqlite3.Connection, record: type[Row], table: str, order: str = "") -> list[Row]:
    make: Any = record  # one of the records above: a dataclass, its fields the columns
    columns = ", ".join(f'"{f.name}"' for f in fields(make))
    query = f'SELECT {columns} FROM "{table}" {order}'
    return [make(*row) for row in conn.execute(query)]
