"""The snapshot is the Rails index: the pipeline's tables stripped, every other table intact."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from showcase_common.index import PIPELINE_PREFIX, table_definitions, table_names
from syncer.snapshot import Snapshotter

from tests.integration.syncer.indexdb import SECRET_PAYLOAD, create_index, rows


def _definitions(path: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return table_definitions(db)


def _tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return table_names(db)


def test_the_copy_has_the_rails_tables_exactly_and_no_pipeline_table(tmp_path: Path) -> None:
    live = tmp_path / "index.sqlite3"
    create_index(live, studios=4, showcases=9, users=3)
    source_tables = _tables(live)
    assert {"pipeline_outbox", "pipeline_requests"} <= source_tables  # the test means something
    before = live.read_bytes()

    snap = Snapshotter(live).take(tmp_path / "staging")

    copy_tables = _tables(snap.path)
    assert not [t for t in copy_tables if t.startswith(PIPELINE_PREFIX)]
    assert copy_tables == {t for t in source_tables if not t.startswith(PIPELINE_PREFIX)}
    # Rails' own, the application's empty tables and the bookkeeping ones, byte for byte:
    assert _definitions(snap.path) == _definitions(live)
    assert {"events", "people", "schema_migrations", "ar_internal_metadata"} <= copy_tables
    for table in copy_tables:
        assert rows(snap.path, table) == rows(live, table), table
    assert snap.showcase_ids == frozenset(range(1, 10))
    assert SECRET_PAYLOAD.encode() not in snap.path.read_bytes()  # vacuumed: no stale page
    assert live.read_bytes() == before  # the source is never touched


def test_the_pipeline_tables_indexes_go_and_the_rails_indexes_stay(tmp_path: Path) -> None:
    live = tmp_path / "index.sqlite3"
    create_index(live)
    snap = Snapshotter(live).take(tmp_path / "staging")
    with contextlib.closing(sqlite3.connect(snap.path)) as db:
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        sequences = {r[0] for r in db.execute("SELECT name FROM sqlite_sequence")}
    assert "ix_pipeline_requests_showcase" not in indexes
    assert {"index_locations_on_user_id", "index_showcases_on_location_id"} <= indexes
    assert not [name for name in sequences if name.startswith(PIPELINE_PREFIX)]


def test_an_index_without_pipeline_tables_is_copied_as_it_is(tmp_path: Path) -> None:
    live = tmp_path / "index.sqlite3"
    create_index(live, pipeline=False)
    snap = Snapshotter(live).take(tmp_path / "staging")
    assert _tables(snap.path) == _tables(live)
    assert _definitions(snap.path) == _definitions(live)
    assert rows(snap.path, "showcases") == rows(live, "showcases")
