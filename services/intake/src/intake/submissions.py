"""A submission's statements, on the writer's open batch transaction (`group_commit`).

The same rules as everywhere (`showcases.validate`, `access`), read and written with plain
SQL on the sqlite3 connection: no ORM session, unit of work or identity map per submission
(they were a quarter of intake's busy time). The rows are written exactly as the ORM writes
them (timestamps `YYYY-MM-DD HH:MM:SS.ffffff`, UTC, as Rails' `datetime(6)`), and the showcase,
its request, its outbox row and its idempotency key go in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable

from showcase_common.index import Location, Region, Showcase, User
from sqlmodel import SQLModel

from intake import access

_LOCATION_COLUMNS = (
    "id",
    "key",
    "name",
    "logo",
    "latitude",
    "longitude",
    "user_id",
    "region",
    "sisters",
    "trust_level",
    "locale",
    "created_at",
    "updated_at",
)
_LOCATION_SELECT = f"SELECT {', '.join(_LOCATION_COLUMNS)} FROM locations WHERE id = ?"


def stored(moment: dt.datetime) -> str:
    """A timestamp as SQLAlchemy (and Rails' `datetime(6)`) stores it in SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _read(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


class IndexRows:
    """What a submission reads, on the batch's connection (what `showcases.validate` asks)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._locations: dict[int, Location | None] = {}

    def location(self, location_id: int) -> Location | None:
        """The location (each read once per batch: nothing changes locations meanwhile)."""
        if location_id not in self._locations:
            self._locations[location_id] = self._read_location(location_id)
        return self._locations[location_id]

    def _read_location(self, location_id: int) -> Location | None:
        row = self.conn.execute(_LOCATION_SELECT, (location_id,)).fetchone()
        if row is None:
            return None
        values = dict(zip(_LOCATION_COLUMNS, row, strict=True))
        values["created_at"], values["updated_at"] = (
            _read(values["created_at"]),
            _read(values["updated_at"]),
        )
        return Location(**values)

    def clashes(
        self, location: Location, year: int, name: str, key: str
    ) -> Iterable[tuple[str | None, str | None]]:
        """(name, key) of the showcases of that location and year with this name or key."""
        return self.conn.execute(
            "SELECT name, key FROM showcases"
            " WHERE location_id = ? AND year = ? AND (name = ? OR key = ?)",
            (location.id, year, name, key),
        ).fetchall()

    def sister_names(self, user: User) -> set[str]:
        listings = self.conn.execute("SELECT sisters FROM locations WHERE user_id = ?", (user.id,))
        return set().union(*(access.names(listing) for (listing,) in listings))

    def next_order(self) -> int:
        """max(order) + 1 over the whole index (as the fleet's admin app numbers them)."""
        (highest,) = self.conn.execute('SELECT max("order") FROM showcases').fetchone()
        return (highest or 0) + 1

    def showcases_that_year(self, location_id: int, year: int | None) -> int:
        (count,) = self.conn.execute(
            "SELECT count(*) FROM showcases WHERE location_id = ? AND year IS ?",
            (location_id, year),
        ).fetchone()
        return int(count)

    def regions(self) -> list[Region]:
        rows = self.conn.execute("SELECT type, code, location, latitude, longitude FROM regions")
        return [
            Region(type=kind, code=code, location=name, latitude=lat, longitude=lon)
            for kind, code, name, lat, lon in rows
        ]

    def showcase(self, showcase_id: int) -> Showcase | None:
        row = self.conn.execute(
            'SELECT id, location_id, year, key, name, "order", date, created_at, updated_at'
            " FROM showcases WHERE id = ?",
            (showcase_id,),
        ).fetchone()
        if row is None:
            return None
        sid, location_id, year, key, name, order, date, created, updated = row
        return Showcase(
            id=sid,
            location_id=location_id,
            year=year,
            key=key,
            name=name,
            order=order,
            date=date,
            created_at=dt.datetime.fromisoformat(created),
            updated_at=dt.datetime.fromisoformat(updated),
        )


def insert_showcase(conn: sqlite3.Connection, showcase: Showcase) -> int:
    cursor = conn.execute(
        'INSERT INTO showcases (location_id, year, key, name, "order", date, created_at,'
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            showcase.location_id,
            showcase.year,
            showcase.key,
            showcase.name,
            showcase.order,
            showcase.date,
            stored(showcase.created_at),
            stored(showcase.updated_at),
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def insert_request(
    conn: sqlite3.Connection, request_id: str, user_id: int, showcase_id: int, now: dt.datetime
) -> None:
    """A new request, `queued` (as `models.Request` defaults it)."""
    at = stored(now)
    conn.execute(
        "INSERT INTO pipeline_requests (id, user_id, showcase_id, status, created_at,"
        " updated_at, finished_at) VALUES (?, ?, ?, 'queued', ?, ?, NULL)",
        (request_id, user_id, showcase_id, at, at),
    )


def insert_outbox(
    conn: sqlite3.Connection,
    row_id: str,
    subject: str,
    payload: str,
    request_id: str | None,
    created_at: dt.datetime,
) -> None:
    conn.execute(
        "INSERT INTO pipeline_outbox (id, subject, payload, request_id, created_at, sent_at)"
        " VALUES (?, ?, ?, ?, ?, NULL)",
        (row_id, subject, payload, request_id, stored(created_at)),
    )


def insert_row(conn: sqlite3.Connection, row: SQLModel) -> None:
    """Any of the pipeline's rows, every column as the model holds it (an admin's e-mail)."""
    table = row.__table__  # type: ignore[attr-defined]  # SQLModel's table models have one
    names = [column.name for column in table.columns]
    values = [getattr(row, name) for name in names]
    values = [stored(v) if isinstance(v, dt.datetime) else v for v in values]
    columns = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" for _ in names)
    conn.execute(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", values)


def remembered_key(
    conn: sqlite3.Connection, user_id: int, key: str
) -> tuple[str, int, str | None] | None:
    """(body_sha256, showcase_id, request_id) stored under an Idempotency-Key, if any."""
    row = conn.execute(
        "SELECT body_sha256, showcase_id, request_id FROM pipeline_idempotency_keys"
        ' WHERE user_id = ? AND "key" = ?',
        (user_id, key),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def forget_key(conn: sqlite3.Connection, user_id: int, key: str) -> None:
    conn.execute(
        'DELETE FROM pipeline_idempotency_keys WHERE user_id = ? AND "key" = ?', (user_id, key)
    )


def remember_key(
    conn: sqlite3.Connection,
    user_id: int,
    key: str,
    body_sha256: str,
    showcase_id: int,
    request_id: str | None,
    now: dt.datetime,
) -> None:
    conn.execute(
        "INSERT INTO pipeline_idempotency_keys"
        ' (user_id, "key", body_sha256, showcase_id, request_id, created_at)'
        " VALUES (?, ?, ?, ?, ?, ?)",
        (user_id, key, body_sha256, showcase_id, request_id, stored(now)),
    )
