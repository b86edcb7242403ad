"""The index database's schema: created whole when fresh, migrated step by step when not."""

from __future__ import annotations

from pathlib import Path

import pytest
from intake import db
from intake.db import SchemaTooNew, create_schema, make_engine
from sqlalchemy import inspect
from sqlalchemy.engine import Engine


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def _next_version(monkeypatch: pytest.MonkeyPatch, *statements: str) -> None:
    """Pretend this intake is one schema version newer, with `statements` as its migration."""
    monkeypatch.setattr(db, "SCHEMA_VERSION", db.SCHEMA_VERSION + 1)
    monkeypatch.setattr(db, "_MIGRATIONS", {db.SCHEMA_VERSION: list(statements)})


def test_an_older_database_is_migrated_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(tmp_path / "index.sqlite3")
    create_schema(engine)
    before = _version(engine)

    _next_version(monkeypatch, "ALTER TABLE request ADD COLUMN note TEXT")
    create_schema(engine)

    assert _version(engine) == before + 1
    assert "note" in _columns(engine, "request")
    create_schema(engine)  # at its version: nothing runs again (the ALTER would fail)


def test_a_fresh_database_is_created_whole_without_running_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _next_version(monkeypatch, "THIS IS NOT SQL")  # would raise if it ran
    engine = make_engine(tmp_path / "index.sqlite3")

    create_schema(engine)

    assert _version(engine) == db.SCHEMA_VERSION
    assert {"request", "outbox", "showcase"} <= set(inspect(engine).get_table_names())


def test_a_database_from_a_newer_intake_is_refused_untouched(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "index.sqlite3")
    create_schema(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA user_version={db.SCHEMA_VERSION + 1}")

    with pytest.raises(SchemaTooNew, match="run the newer intake"):
        create_schema(engine)
    assert _version(engine) == db.SCHEMA_VERSION + 1
