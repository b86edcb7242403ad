"""The index database: SQLite in WAL mode, schema created and migrated at start.

Writes in this process go through one lock: SQLite has a single writer anyway, and taking the
lock up front avoids a deferred transaction failing to upgrade to a write (SQLITE_BUSY).
Other processes (the syncer's snapshot, the seed command) are covered by busy_timeout.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Imported for their side effect: registering every table on SQLModel.metadata.
from showcase_common.index import models as _shared  # noqa: F401
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from intake import models as _own  # noqa: F401

SCHEMA_VERSION = 1
"""Bump with a step in `_MIGRATIONS` when an existing table changes shape."""

_MIGRATIONS: dict[int, list[str]] = {}
"""version -> SQL that brings an existing database from version-1 to version. Only for tables
that already exist: `create_all` adds new tables (and makes a fresh database whole at once)."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer intake than this one."""


def make_engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    event.listen(engine, "connect", _on_connect)
    return engine


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """Create missing tables and bring an existing database to `SCHEMA_VERSION`.

    Tracked in `PRAGMA user_version`. A fresh database is created whole by `create_all`, so its
    migrations are not run (they would alter tables that already have the new shape)."""
    with engine.begin() as conn:
        fresh = not inspect(conn).get_table_names()
        version = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the index database is at schema version {version}, this intake knows "
                f"{SCHEMA_VERSION}: run the newer intake (or restore a backup taken before it)"
            )
        SQLModel.metadata.create_all(conn)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in [] if fresh else _MIGRATIONS.get(step, []):
                conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")


class Database:
    """Sessions on one engine, and the lock that serialises this process's writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.write_lock = threading.Lock()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A session whose work commits as one transaction (rolled back on error)."""
        with self.write_lock, self.session() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
