"""The index database: the Rails application's SQLite file, in WAL mode, with the pipeline's
own tables created and migrated in it at start.

The Rails tables (users, locations, showcases, regions, and every other table of the app) are
used as they are: nothing here creates, alters or drops them. `create_schema` first checks that
the file is a Rails index (refusing a database from before the pipeline used one, and a file
with no index at all), then creates and migrates only the `pipeline_` tables of
`SQLModel.metadata`, recording their version in `pipeline_schema`.

Writes in this process go through one lock, and each write transaction starts with
`BEGIN IMMEDIATE`: a check and the insert it guards (a showcase's unique name and key, which the
Rails table has no index for) then see no other writer in between, from this process or another
(the Rails application writes to the same file). busy_timeout covers waiting for those.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from showcase_common.index.schema import (
    PIPELINE_PREFIX,
    is_legacy_index,
    is_rails_index,
    table_names,
)
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

# Imported for its side effect: registering the pipeline's tables on SQLModel.metadata.
from intake import models as _own  # noqa: F401

SCHEMA_VERSION = 1
"""Bump with a step in `_MIGRATIONS` when an existing table changes shape."""

_MIGRATIONS: dict[int, list[str]] = {}
"""version -> SQL that brings an existing database from version-1 to version. Only for tables
that already exist: `create_all` adds new tables (and makes a fresh database whole at once)."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer intake than this one."""


class NotAnIndex(RuntimeError):
    """The file is not a Rails index intake can work on; the message says what to do."""


LEGACY_MESSAGE = (
    "{path} holds the pipeline's own tables from before it used the Rails index (user, "
    "location, showcase): it was only ever a local run's data. Run `make clean-data` (it "
    "removes .data/) and start again; the local run then seeds a Rails-shaped index."
)
NO_INDEX_MESSAGE = (
    "{path} is not a showcase index (no users, locations, showcases and regions tables). Run "
    "`python -m intake seed` to create one for a local run, or point INDEX_DB_PATH at the "
    "Rails application's index.sqlite3."
)


def check_index(tables: set[str], path: object) -> None:
    """Raise `NotAnIndex` unless `tables` are a Rails index's (an old local database and a
    missing index each get their own message)."""
    if is_legacy_index(tables):
        raise NotAnIndex(LEGACY_MESSAGE.format(path=path))
    if not is_rails_index(tables):
        raise NotAnIndex(NO_INDEX_MESSAGE.format(path=path))


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
    """Check the file is a Rails index, then create the pipeline's missing tables and bring
    existing ones to `SCHEMA_VERSION` (in one transaction; Rails' tables are not touched).

    The version lives in `pipeline_schema`. Pipeline tables created afresh by `create_all`
    already have the newest shape, so the migrations run only when the version row was there."""
    with engine.begin() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        tables = _tables(conn)
        check_index(tables, engine.url.database)
        version = _stored_version(conn, tables)
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the pipeline's tables are at schema version {version}, this intake knows "
                f"{SCHEMA_VERSION}: run the newer intake (or restore a backup taken before it)"
            )
        assert all(name.startswith(PIPELINE_PREFIX) for name in SQLModel.metadata.tables)
        SQLModel.metadata.create_all(conn)
        for step in range((version or SCHEMA_VERSION) + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS.get(step, []):
                conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "INSERT INTO pipeline_schema (id, version) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            (SCHEMA_VERSION,),
        )


def _tables(conn: Connection) -> set[str]:
    return table_names(conn.connection.driver_connection)  # type: ignore[arg-type]


def _stored_version(conn: Connection, tables: set[str]) -> int | None:
    """The pipeline tables' version; None when they have never been created in this file."""
    if "pipeline_schema" not in tables:
        return None
    return conn.exec_driver_sql("SELECT version FROM pipeline_schema WHERE id = 1").scalar()


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
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
