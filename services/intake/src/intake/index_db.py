"""The index database file: the Rails application's SQLite file, opened in WAL mode, checked
to be a Rails index, with the pipeline's own tables created and migrated in it at start.

The Rails tables (users, locations, showcases, regions, and every other table of the app) are
used as they are: nothing here creates, alters or drops them. `create_schema` first checks that
the file is a Rails index (refusing a database from before the pipeline used one, and a file
with no index at all), then creates and migrates only the `pipeline_` tables of
`SQLModel.metadata`, recording their version in `pipeline_schema`.

How database work runs once the file is open (sessions, the write lock, the reader and writer
thread lanes) is `intake.db_lanes`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from showcase_common.index.schema import (
    PIPELINE_PREFIX,
    is_legacy_index,
    is_rails_index,
    table_names,
)
from showcase_common.lifecycle import CannotStart
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

# Imported for its side effect: registering the pipeline's tables on SQLModel.metadata.
from intake import models as _own  # noqa: F401
from intake.db_lanes import DbLimits

SCHEMA_VERSION = 3
"""Bump with a step in `_MIGRATIONS` when an existing table changes shape."""

_IDEMPOTENCY_KEYS_V2 = "CREATE TABLE pipeline_idempotency_keys (\n\t{}\n)".format(
    ", \n\t".join(
        [
            "user_id INTEGER NOT NULL",
            '"key" VARCHAR(200) NOT NULL',
            "body_sha256 VARCHAR(64) NOT NULL",
            "showcase_id INTEGER NOT NULL",
            "request_id VARCHAR(32)",
            "created_at DATETIME NOT NULL",
            'PRIMARY KEY (user_id, "key")',
            "FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE",
            "FOREIGN KEY(showcase_id) REFERENCES showcases (id) ON DELETE CASCADE",
        ]
    )
)
"""Written out as `create_all` writes it (a migrated file and a fresh one read the same)."""

Step = str | Callable[[Connection], None]


def _add_column(table: str, column: str, ddl: str) -> Callable[[Connection], None]:
    """ALTER TABLE … ADD COLUMN, unless the column is there already (a table that `create_all`
    made in its newest shape in the same start, the others being older)."""

    def step(conn: Connection) -> None:
        columns = {row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({table})")}
        if column not in columns:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")

    return step


_MIGRATIONS: dict[int, list[Step]] = {
    # 2: idempotency keys remember what was created (showcase and request ids), not the answer
    # (whose progress token expired); the ids come out of the stored answer. A key whose
    # showcase is gone is dropped, as the foreign key's cascade would have done.
    2: [
        "ALTER TABLE pipeline_idempotency_keys RENAME TO pipeline_idempotency_keys_v1",
        _IDEMPOTENCY_KEYS_V2,
        "INSERT INTO pipeline_idempotency_keys"
        " (user_id, key, body_sha256, showcase_id, request_id, created_at)"
        " SELECT user_id, key, body_sha256, json_extract(response, '$.showcase.id'),"
        " json_extract(response, '$.request_id'), created_at"
        " FROM pipeline_idempotency_keys_v1"
        " WHERE json_extract(response, '$.showcase.id') IN (SELECT id FROM showcases)",
        "DROP TABLE pipeline_idempotency_keys_v1",
    ],
    # 3: a request's outcome (the requests lists filter and time it) and the studios' e-mails
    # (addressed to the requester, with an HTML part).
    3: [
        _add_column("pipeline_requests", "finished_at", "DATETIME"),
        "CREATE INDEX IF NOT EXISTS ix_pipeline_requests_status ON pipeline_requests (status)",
        "CREATE INDEX IF NOT EXISTS ix_pipeline_requests_created_at"
        " ON pipeline_requests (created_at)",
        _add_column("pipeline_mail_outbox", "html", "TEXT"),
        _add_column("pipeline_mail_outbox", "recipient", "VARCHAR(320)"),
    ],
}
"""version -> SQL that brings an existing database from version-1 to version. Only for tables
that already exist: `create_all` adds new tables (and makes a fresh database whole at once)."""


class SchemaTooNew(CannotStart):
    """The database was migrated by a newer intake than this one."""


BUSY_TIMEOUT_S = 30
"""How long a write waits for another process's lock (the syncer's snapshot) before failing."""


class NotAnIndex(CannotStart):
    """The file is not a Rails index intake can work on; the message says what to do."""


LEGACY_MESSAGE = (
    "{path} holds the pipeline's own tables from before it used the Rails index (user, "
    "location, showcase): it was only ever a local run's data. Run `make clean-data` (it "
    "removes .data/) and start again; the local run then seeds a Rails-shaped index."
)
NO_INDEX_MESSAGE = (
    "{path} is not a showcase index (no users, locations, showcases and regions tables). "
    "Put the real index there, the Rails application's: copy it from S3 "
    "(`aws s3 cp s3://<bucket>/db/index.sqlite3 {path}`) or from the Rails machine's database "
    "directory (`/data/db/index.sqlite3`, e.g. with `fly ssh sftp get`), or point INDEX_DB_PATH "
    "at it. Only a local development run (SHOWCASE_DEV_MODE=1) may instead run "
    "`python -m intake seed`, which makes one with made-up logins."
)


def check_index(tables: set[str], path: object) -> None:
    """Raise `NotAnIndex` unless `tables` are a Rails index's (an old local database and a
    missing index each get their own message)."""
    if is_legacy_index(tables):
        raise NotAnIndex(LEGACY_MESSAGE.format(path=path))
    if not is_rails_index(tables):
        raise NotAnIndex(NO_INDEX_MESSAGE.format(path=path))


def make_engine(path: Path, limits: DbLimits | None = None) -> Engine:
    """The engine over the index; nothing is opened (or created) until it is first used."""
    limits = limits or DbLimits()
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
        pool_size=limits.pool_size,
        max_overflow=0,
        # Never reached while every user of the pool is a lane thread; if it is, fail fast.
        pool_timeout=limits.stuck_s,
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
    if engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
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
                if callable(statement):
                    statement(conn)
                else:
                    conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "INSERT INTO pipeline_schema (id, version) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            (SCHEMA_VERSION,),
        )


def _tables(conn: Connection) -> set[str]:
    return table_names(conn.connection.driver_connection)  # type: ignore[arg-type]  # the sqlite3 connection under SQLAlchemy's


def _stored_version(conn: Connection, tables: set[str]) -> int | None:
    """The pipeline tables' version; None when they have never been created in this file."""
    if "pipeline_schema" not in tables:
        return None
    return conn.exec_driver_sql("SELECT version FROM pipeline_schema WHERE id = 1").scalar()
