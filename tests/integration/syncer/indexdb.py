"""A Rails-shaped index database for the syncer's tests (the fixture's tables and row shapes)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from showcase_common.index import Location, Showcase, User, format_date

from tests.support.rails_fixture import RailsRows, fixture_regions, write_rails_index

REGIONS = ("iad", "ord", "sjc", "dfw", "lax")
_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def create_index(
    path: Path, *, studios: int = 3, showcases: int = 4, users: int = 5, wal: bool = True
) -> None:
    """An index with `studios` locations, `showcases` spread over them and `users` logins."""
    rows = RailsRows(
        users=[
            User(
                id=i,
                userid=f"user{i}",
                password=f"user{i}:$apr1$salt{i:04d}$" + "x" * 22,
                sites="index" if i == 1 else f"Studio {i} Dance Center",
            )
            for i in range(1, users + 1)
        ],
        locations=[
            Location(
                id=i,
                key=f"studio-{i}",
                name=f"Studio {i} Dance Center",
                region=REGIONS[i % len(REGIONS)],
                user_id=(i % users) + 1,
            )
            for i in range(1, studios + 1)
        ],
        showcases=[_showcase(i, (i % studios) + 1) for i in range(1, showcases + 1)],
        regions=fixture_regions(),
    )
    write_rails_index(path, rows)
    if wal:  # what a live intake database looks like
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")


def _showcase(showcase_id: int, location_id: int) -> Showcase:
    start = dt.date(2026, 1, 1) + dt.timedelta(days=showcase_id % 300)
    return Showcase(
        id=showcase_id,
        location_id=location_id,
        year=2026,
        key=f"showcase-{showcase_id}",
        name=f"Spring Showcase {showcase_id}",
        order=showcase_id,
        date=format_date(start, start + dt.timedelta(days=1)),
    )


def add_showcase(path: Path, location_id: int = 1) -> int:
    """Commit one more showcase, as intake does (`order` = max + 1), and return its id."""
    with sqlite3.connect(path, timeout=30) as db:
        cursor = db.execute(
            'INSERT INTO showcases (location_id, year, key, name, "order", created_at, updated_at)'
            " VALUES (?, 2026, 'pending', 'pending', (SELECT coalesce(max(\"order\"), 0) + 1"
            f" FROM showcases), {_NOW}, {_NOW})",
            (location_id,),
        )
        new_id = int(cursor.lastrowid or 0)
        db.execute(
            "UPDATE showcases SET key = ?, name = ? WHERE id = ?",
            (f"new-{new_id}", f"New Showcase {new_id}", new_id),
        )
    return new_id
