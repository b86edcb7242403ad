"""Small helpers shared by intake's unit and integration tests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from intake.models import IdempotencyKey, Outbox, Request
from intake.route_deps import RouteDeps
from intake.security import htpasswd_line
from showcase_common.index.models import Location, Showcase, User
from sqlmodel import func, select


def counts(deps: RouteDeps) -> dict[str, int]:
    """Rows per table: 'nothing changed' is these numbers staying put."""
    with deps.db.session() as session:
        return {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in (Showcase, Request, Outbox, IdempotencyKey, User, Location)
        }


def add_user(
    deps: RouteDeps,
    userid: str,
    password: str,
    *,
    owns: str | None = None,
    sisters: str | None = None,
    sites: str | None = None,
    scheme: str = "apr1",
) -> None:
    """A Rails user whose password is an htpasswd line; `owns` a location key (whose `sisters`
    become `sisters` when given)."""
    with deps.db.writing() as session:
        user = User(userid=userid, password=htpasswd_line(userid, password, scheme), sites=sites)
        session.add(user)
        session.flush()
        if owns is not None:
            location = session.exec(select(Location).where(Location.key == owns)).one()
            location.user_id = user.id
            if sisters is not None:
                location.sisters = sisters
            session.add(location)


def location_id(deps: RouteDeps, key: str) -> int:
    with deps.db.session() as session:
        location = session.exec(select(Location).where(Location.key == key)).one()
        assert location.id is not None
        return location.id


def make_legacy_index(path: Path) -> None:
    """A local database from before the pipeline used the Rails index: its singular tables."""
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE user (id INTEGER PRIMARY KEY, login VARCHAR, password_hash VARCHAR,
                               is_admin BOOLEAN);
            CREATE TABLE location (id INTEGER PRIMARY KEY, key VARCHAR, name VARCHAR,
                                   owner_id INTEGER REFERENCES user (id));
            CREATE TABLE showcase (id INTEGER PRIMARY KEY, location_id INTEGER, year INTEGER,
                                   key VARCHAR, name VARCHAR, start_date DATE, end_date DATE);
            CREATE TABLE outbox (id VARCHAR PRIMARY KEY, subject VARCHAR, payload TEXT);
            INSERT INTO user (login, password_hash, is_admin) VALUES ('admin', 'x', 1);
            """
        )
    conn.close()


def schema_of(path: Path) -> dict[str, str]:
    """Every table's and index's SQL in the file (all of them, the pipeline's too)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        definitions = dict(rows.fetchall())
    conn.close()
    return definitions


IDEMPOTENCY_KEYS_V1 = """CREATE TABLE pipeline_idempotency_keys (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    "key" VARCHAR(200) NOT NULL,
    body_sha256 VARCHAR(64) NOT NULL,
    status_code INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, "key")
)"""
"""The table as intake wrote it at schema version 1: the first answer itself, token included."""


def downgrade_idempotency_keys(path: Path, answers: dict[str, dict[str, object]]) -> None:
    """Put the file back at schema version 1, each key holding `answers[key]` as the old intake
    stored it (a 201 and its JSON body)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT user_id, key, body_sha256, created_at FROM pipeline_idempotency_keys"
        ).fetchall()
        conn.execute("DROP TABLE pipeline_idempotency_keys")
        conn.execute(IDEMPOTENCY_KEYS_V1)
        conn.executemany(
            "INSERT INTO pipeline_idempotency_keys VALUES (?, ?, ?, 201, ?, ?)",
            [(u, k, digest, json.dumps(answers[k]), at) for u, k, digest, at in rows],
        )
        conn.execute("UPDATE pipeline_schema SET version = 1")
    conn.close()
