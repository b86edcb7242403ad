"""A Rails-shaped index database for the syncer's tests, with the pipeline's tables beside it.

The Rails tables come from `create_rails_index` (what the Rails schema load creates) and their
rows from the shared models; `pipeline_*` tables stand for what intake keeps in the same file.
(`tests/support/rails_fixture.py`, the fleet-sized fixture, is another helper; this one is small.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from showcase_common.index import Location, Region, Showcase, User, create_rails_index
from sqlalchemy import create_engine
from sqlmodel import Session

REGIONS = ("iad", "ord", "sea", "dfw", "lax")
SECRET_PAYLOAD = "secret-request-payload"
"""Written into the pipeline's tables: it must never be found in a snapshot."""

PIPELINE_SCHEMA = (
    'CREATE TABLE "pipeline_outbox" (id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT)',
    'CREATE TABLE "pipeline_requests" (id TEXT PRIMARY KEY, showcase_id INTEGER NOT NULL'
    " REFERENCES showcases (id), state TEXT)",
    'CREATE INDEX "ix_pipeline_requests_showcase" ON "pipeline_requests" (showcase_id)',
)


def create_index(
    path: Path,
    *,
    studios: int = 3,
    showcases: int = 4,
    users: int = 5,
    wal: bool = True,
    pipeline: bool = True,
) -> None:
    """A Rails index with `studios` locations, `showcases` over them, `users` logins, the `fly`
    regions and (with `pipeline`) the pipeline's own tables holding a request per showcase."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        if wal:  # what a live index looks like
            db.execute("PRAGMA journal_mode=WAL")
        create_rails_index(db)
        db.commit()
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        session.add_all(_user(i) for i in range(1, users + 1))
        session.add_all(_location(i, users) for i in range(1, studios + 1))
        session.add_all(
            Region(type="fly", code=code, location=code.upper(), latitude=40.0, longitude=-75.0)
            for code in REGIONS
        )
        session.flush()
        session.add_all(_showcase(i, (i % studios) + 1) for i in range(1, showcases + 1))
        session.commit()
    engine.dispose()
    if pipeline:
        add_pipeline_tables(path)


def add_pipeline_tables(path: Path) -> None:
    """The pipeline's tables, as intake keeps them beside the Rails ones, with rows."""
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        for statement in PIPELINE_SCHEMA:
            db.execute(statement)
        ids = [row[0] for row in db.execute("SELECT id FROM showcases")]
        db.executemany(
            "INSERT INTO pipeline_requests (id, showcase_id, state) VALUES (?, ?, ?)",
            [(f"req-{i}", i, SECRET_PAYLOAD) for i in ids],
        )
        db.executemany("INSERT INTO pipeline_outbox (payload) VALUES (?)", [(SECRET_PAYLOAD,)] * 50)
        db.commit()


def _user(i: int) -> User:
    return User(
        id=i,
        userid=f"user{i}",
        password=f"user{i}:$apr1$salt{i}$abcdefghijklmnopqrstuv",
        email=f"user{i}@example.com",
        sites="index" if i == 1 else f"Studio {i}",
    )


def _location(i: int, users: int) -> Location:
    return Location(
        id=i,
        key=f"studio-{i}",
        name=f"Studio {i} Dance Center",
        region=REGIONS[i % len(REGIONS)],
        user_id=(i % users) + 1,
        latitude=40.0 + i,
        longitude=-75.0 - i,
    )


def _showcase(showcase_id: int, location_id: int) -> Showcase:
    start = dt.date(2026, 1, 1) + dt.timedelta(days=showcase_id % 300)
    return Showcase(
        id=showcase_id,
        location_id=location_id,
        year=2026,
        key=f"showcase-{showcase_id}",
        name=f"Spring Showcase {showcase_id}",
        order=showcase_id,
        date=f"{start.isoformat()} - {(start + dt.timedelta(days=1)).isoformat()}",
    )


def add_showcase(path: Path, location_id: int = 1) -> int:
    """Commit one more showcase with its request row, as intake does; its id."""
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db, db:
        cursor = db.execute(
            'INSERT INTO showcases (location_id, year, key, name, "order", date,'
            " created_at, updated_at)"
            " VALUES (?, 2026, 'pending', 'pending', (SELECT coalesce(max(\"order\"), 0) + 1"
            " FROM showcases), '2026-06-01', strftime('%Y-%m-%d %H:%M:%f000', 'now'),"
            " strftime('%Y-%m-%d %H:%M:%f000', 'now'))",
            (location_id,),
        )
        new_id = int(cursor.lastrowid or 0)
        db.execute(
            "UPDATE showcases SET key = ?, name = ? WHERE id = ?",
            (f"new-{new_id}", f"New Showcase {new_id}", new_id),
        )
        if _has_table(db, "pipeline_requests"):
            db.execute(
                "INSERT INTO pipeline_requests (id, showcase_id, state) VALUES (?, ?, ?)",
                (f"new-{new_id}", new_id, SECRET_PAYLOAD),
            )
    return new_id


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    """Every row of `table`, in rowid order (to compare a snapshot with its source)."""
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        return list(db.execute(f'SELECT * FROM "{table}" ORDER BY rowid'))
