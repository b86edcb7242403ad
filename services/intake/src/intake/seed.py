"""`python -m intake seed`: a Rails-shaped index for the local run, only where there is none.

Seeding invents logins (`admin`/`admin`, `studio`/`studio`): it happens only in the local
development run (`SHOWCASE_DEV_MODE=1`). Anywhere else a missing index is an error whose message
says how to get the real one (`NoIndex`): an index with made-up logins would otherwise be
published to S3 and its `htpasswd` written on every machine.

An existing index is used as it is: seeding never adds to it nor changes it. A database of the
pipeline's own schema from before it used the Rails index is refused (`make clean-data`), and so
is any other file that already holds tables. The whole index (the Rails schema and its rows) is
created in one transaction, so a crash leaves no half-made index behind.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from showcase_common.index.models import rails_now
from showcase_common.index.schema import (
    create_rails_index,
    is_legacy_index,
    is_rails_index,
    table_names,
)

from intake.index_db import LEGACY_MESSAGE, NO_INDEX_MESSAGE, NotAnIndex
from intake.security import htpasswd_line

log = logging.getLogger(__name__)

USERS = [
    # userid, password, sites (location names; `index` makes an admin), name
    ("admin", "admin", "index", "Index Admin"),
    ("studio", "studio", "Boston Dance Studio", "Boston Studio Owner"),
]
LOCATIONS = [
    # key, name, region, latitude, longitude, owner
    ("boston", "Boston Dance Studio", "iad", 42.3601, -71.0589, "studio"),
    ("chicago", "Chicago Ballroom", "ord", 41.8781, -87.6298, None),
    ("raleigh", "Raleigh Dance Center", "iad", 35.7796, -78.6382, None),
]
REGIONS = [
    # code, location, latitude, longitude (Fly.io's regions: the local run's three agents')
    ("iad", "Ashburn, Virginia (US)", 39.0438, -77.4874),
    ("ord", "Chicago, Illinois (US)", 41.9786, -87.9048),
    ("sjc", "San Jose, California (US)", 37.3639, -121.9289),
]


class NoIndex(NotAnIndex):
    """No index where one must be, outside the local development run: nothing is invented."""


def seed(path: Path) -> bool:
    """Create a Rails-shaped index at `path` unless one is there; True when it created one.
    The local development run's (`python -m intake seed` calls it only in that run; elsewhere
    it calls `require_index`).

    Raises `NotAnIndex` for a file that holds other tables (an old local database above all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")  # two seeds at once: the second sees the first's index
        tables = table_names(conn)
        if is_rails_index(tables):
            conn.execute("ROLLBACK")
            log.info("%s is a showcase index already: used as it is, nothing seeded", path)
            return False
        if tables:
            conn.execute("ROLLBACK")
            raise NotAnIndex(_refusal(path, tables))
        create_rails_index(conn)
        _insert_rows(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    log.info("seeded a showcase index at %s: users %s", path, ", ".join(u[0] for u in USERS))
    return True


def require_index(path: Path) -> None:
    """Raise `NoIndex` (or `NotAnIndex`) unless `path` holds a Rails index; creates nothing,
    not even an empty file."""
    if not path.is_file():
        raise NoIndex(NO_INDEX_MESSAGE.format(path=path))
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        tables = table_names(conn)
    finally:
        conn.close()
    if is_rails_index(tables):
        log.info("%s is a showcase index: used as it is, nothing seeded", path)
        return
    if tables:
        raise NotAnIndex(_refusal(path, tables))
    raise NoIndex(NO_INDEX_MESSAGE.format(path=path))


def _refusal(path: Path, tables: set[str]) -> str:
    if is_legacy_index(tables):
        return LEGACY_MESSAGE.format(path=path)
    return (
        f"{path} holds tables ({', '.join(sorted(tables))}) but is not a showcase index: "
        "not seeding into it. Point INDEX_DB_PATH at the Rails index, or at a new file."
    )


def _insert_rows(conn: sqlite3.Connection) -> None:
    now = rails_now().strftime("%Y-%m-%d %H:%M:%S.%f")
    user_ids = {}
    for userid, password, sites, name in USERS:
        user_ids[userid] = _insert(
            conn,
            "users",
            ("userid", "password", "email", "name1", "sites"),
            (userid, htpasswd_line(userid, password), f"{userid}@localhost", name, sites),
            now,
        )
    for key, name, region, latitude, longitude, owner in LOCATIONS:
        owner_id = user_ids[owner] if owner else None
        columns = ("key", "name", "region", "latitude", "longitude", "user_id", "locale")
        _insert(
            conn,
            "locations",
            columns,
            (key, name, region, latitude, longitude, owner_id, "en_US"),
            now,
        )
    for code, location, latitude, longitude in REGIONS:
        region_columns = ("type", "code", "location", "latitude", "longitude")
        region_row = ("fly", code, location, latitude, longitude)
        _insert(conn, "regions", region_columns, region_row, now)


def _insert(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], values: Iterable[object], now: str
) -> int:
    names = ", ".join(f'"{c}"' for c in (*columns, "created_at", "updated_at"))
    marks = ", ".join("?" * (len(columns) + 2))
    cursor = conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', (*values, now, now))
    assert cursor.lastrowid is not None
    return cursor.lastrowid
