"""A realistic index database built from the shared models (intake owns the real bootstrap)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from showcase_common.index.models import Location, Showcase, User, create_shared_schema
from sqlalchemy import event
from sqlmodel import Session, create_engine

REGIONS = ("iad", "ord", "sea", "dfw", "lax")


def create_index(
    path: Path, *, studios: int = 3, showcases: int = 4, users: int = 5, wal: bool = True
) -> None:
    """An index with `studios` locations, `showcases` spread over them and `users` logins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    if wal:  # what a live intake database looks like

        @event.listens_for(engine, "connect")
        def _wal(conn, _record) -> None:  # type: ignore[no-untyped-def]
            conn.execute("PRAGMA journal_mode=WAL")

    create_shared_schema(engine)
    with Session(engine) as session:
        session.add_all(
            User(id=i, login=f"user{i}", password_hash="scrypt:" + "x" * 90, is_admin=i == 1)
            for i in range(1, users + 1)
        )
        session.add_all(
            Location(
                id=i,
                key=f"studio-{i}",
                name=f"Studio {i} Dance Center",
                region=REGIONS[i % len(REGIONS)],
                owner_id=(i % users) + 1,
            )
            for i in range(1, studios + 1)
        )
        session.add_all(_showcase(i, (i % studios) + 1) for i in range(1, showcases + 1))
        session.commit()
    engine.dispose()


def _showcase(showcase_id: int, location_id: int) -> Showcase:
    start = dt.date(2026, 1, 1) + dt.timedelta(days=showcase_id % 300)
    return Showcase(
        id=showcase_id,
        location_id=location_id,
        year=2026,
        key=f"showcase-{showcase_id}",
        name=f"Spring Showcase {showcase_id}",
        order=showcase_id,
        start_date=start,
        end_date=start + dt.timedelta(days=1),
    )


def add_showcase(path: Path, location_id: int = 1) -> int:
    """Commit one more showcase, as intake does, and return its id."""
    with sqlite3.connect(path, timeout=30) as db:
        cursor = db.execute(
            'INSERT INTO showcase (location_id, year, key, name, "order", updated_at) '
            "VALUES (?, 2026, 'pending', 'pending', 0, CURRENT_TIMESTAMP)",
            (location_id,),
        )
        new_id = int(cursor.lastrowid or 0)
        db.execute(
            "UPDATE showcase SET key = ?, name = ? WHERE id = ?",
            (f"new-{new_id}", f"New Showcase {new_id}", new_id),
        )
    return new_id
