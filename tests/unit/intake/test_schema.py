"""The pipeline's own tables in the Rails index: created and migrated at start, touching nothing
else; a file that is not a Rails index is refused with a message saying what to do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from intake import index_db
from intake.index_db import NotAnIndex, SchemaTooNew, create_schema, make_engine
from intake.seed import seed
from showcase_common.index import PIPELINE_PREFIX, table_definitions
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from tests.unit.intake.helpers import make_legacy_index, schema_of

PIPELINE_TABLES = {
    "pipeline_requests",
    "pipeline_outbox",
    "pipeline_mail_outbox",
    "pipeline_idempotency_keys",
    "pipeline_schema",
}


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "index.sqlite3"
    seed(path)
    return path


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT version FROM pipeline_schema").scalar_one())


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def _next_version(monkeypatch: pytest.MonkeyPatch, *statements: str) -> None:
    """Pretend this intake is one schema version newer, with `statements` as its migration."""
    monkeypatch.setattr(index_db, "SCHEMA_VERSION", index_db.SCHEMA_VERSION + 1)
    monkeypatch.setattr(index_db, "_MIGRATIONS", {index_db.SCHEMA_VERSION: list(statements)})


def test_the_pipeline_metadata_holds_only_pipeline_tables() -> None:
    assert set(SQLModel.metadata.tables) == PIPELINE_TABLES


def test_start_adds_the_pipeline_tables_and_changes_no_rails_definition(index: Path) -> None:
    with sqlite3.connect(index) as conn:
        rails_before = table_definitions(conn)
    conn.close()

    create_schema(make_engine(index))

    after = schema_of(index)
    added = {name for name in after if name not in rails_before}
    assert {name for name in added if not name.startswith("ix_")} == PIPELINE_TABLES
    assert all(name.startswith(("ix_" + PIPELINE_PREFIX, PIPELINE_PREFIX)) for name in added)
    assert {name: after[name] for name in rails_before} == rails_before
    assert "REFERENCES users (id) ON DELETE CASCADE" in after["pipeline_requests"]
    assert "REFERENCES showcases (id) ON DELETE CASCADE" in after["pipeline_requests"]
    with sqlite3.connect(index) as conn:  # the file's own version number is Rails' to keep
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)
    conn.close()


def test_an_older_database_is_migrated_once(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(index)
    create_schema(engine)
    before = _version(engine)

    _next_version(monkeypatch, "ALTER TABLE pipeline_requests ADD COLUMN note TEXT")
    create_schema(engine)

    assert _version(engine) == before + 1
    assert "note" in _columns(engine, "pipeline_requests")
    create_schema(engine)  # at its version: nothing runs again (the ALTER would fail)


def test_fresh_pipeline_tables_are_created_whole_without_running_migrations(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _next_version(monkeypatch, "THIS IS NOT SQL")  # would raise if it ran
    engine = make_engine(index)

    create_schema(engine)

    assert _version(engine) == index_db.SCHEMA_VERSION
    assert set(inspect(engine).get_table_names()) >= PIPELINE_TABLES


def test_a_database_from_a_newer_intake_is_refused_untouched(index: Path) -> None:
    engine = make_engine(index)
    create_schema(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE pipeline_schema SET version = {index_db.SCHEMA_VERSION + 1}")

    with pytest.raises(SchemaTooNew, match="run the newer intake"):
        create_schema(engine)
    assert _version(engine) == index_db.SCHEMA_VERSION + 1


def test_a_database_from_before_the_rails_index_is_refused_naming_clean_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite3"
    make_legacy_index(path)
    before = schema_of(path)

    with pytest.raises(NotAnIndex, match="make clean-data"):
        create_schema(make_engine(path))
    with pytest.raises(NotAnIndex, match="make clean-data"):
        seed(path)
    assert schema_of(path) == before


def test_a_file_without_an_index_is_refused_naming_seed_and_index_db_path(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"

    with pytest.raises(NotAnIndex, match="python -m intake seed") as refused:
        create_schema(make_engine(path))
    assert "INDEX_DB_PATH" in str(refused.value)
    assert schema_of(path) == {}
