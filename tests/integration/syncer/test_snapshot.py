"""Snapshots of a live SQLite index (real files, a real concurrent writer)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from syncer.snapshot import SnapshotError, Snapshotter

from tests.integration.syncer.indexdb import create_index


def _writer(path: Path, stop: threading.Event, written: list[int]) -> None:
    """Insert showcases, each with a tally bump in the same transaction, until told to stop."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        while not stop.is_set():
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO showcases"
                ' (location_id, year, key, name, "order", created_at, updated_at) '
                "VALUES (1, 2027, 'k' || (SELECT n FROM tally), 'n' || (SELECT n FROM tally), 0, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
            db.execute("UPDATE tally SET n = n + 1")
            db.execute("COMMIT")
            written.append(1)
    finally:
        db.close()


def test_snapshots_during_concurrent_writes_are_consistent(tmp_path: Path) -> None:
    live = tmp_path / "index.sqlite3"
    create_index(live, studios=5, showcases=20, users=5)
    with sqlite3.connect(live) as db:
        db.execute("CREATE TABLE tally (n INTEGER NOT NULL)")
        db.execute("INSERT INTO tally VALUES (0)")
    stop, written = threading.Event(), list[str]()
    writer = threading.Thread(target=_writer, args=(live, stop, written))
    writer.start()
    snapshotter = Snapshotter(live)
    counts: set[int] = set()
    try:
        while len(counts) < 5:  # until five different states of the live file were captured
            snap = snapshotter.take(tmp_path / "staging")
            with sqlite3.connect(snap.path) as copy:
                showcases = copy.execute("SELECT count(*) FROM showcases").fetchone()[0]
                tally = copy.execute("SELECT n FROM tally").fetchone()[0]
                mode = copy.execute("PRAGMA journal_mode").fetchone()[0]
                check = copy.execute("PRAGMA integrity_check").fetchone()[0]
            assert showcases == 20 + tally  # no half-committed transaction in the copy
            assert len(snap.showcase_ids) == showcases
            assert (mode, check) == ("delete", "ok")  # one self-contained, sound file
            counts.add(tally)
            snap.discard()
    finally:
        stop.set()
        writer.join()
    assert written


def test_a_missing_or_corrupt_index_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        Snapshotter(tmp_path / "absent.sqlite3").take(tmp_path)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SnapshotError):
        Snapshotter(garbage).take(tmp_path / "staging")
    assert not list((tmp_path / "staging").iterdir())


def test_a_damaged_page_fails_the_integrity_check(tmp_path: Path) -> None:
    live = tmp_path / "index.sqlite3"
    create_index(live, studios=5, showcases=200, users=5, wal=False, pipeline=False)
    with sqlite3.connect(live) as db:
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'showcases'"
        ).fetchone()
    data = bytearray(live.read_bytes())
    page = 4096
    leaf = root * page  # the page after the root: one of the showcases' leaves
    data[leaf + 100 : leaf + 300] = b"\xff" * 200  # scribble over its cell pointers
    live.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="integrity_check"):
        Snapshotter(live).take(tmp_path / "staging")


def test_a_file_that_is_not_a_rails_index_is_refused(tmp_path: Path) -> None:
    live = tmp_path / "index.sqlite3"
    with sqlite3.connect(live) as db:  # the pipeline's schema from before it used Rails'
        db.execute("CREATE TABLE showcase (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(SnapshotError, match="not a Rails index"):
        Snapshotter(live).take(tmp_path / "staging")
    assert not list((tmp_path / "staging").iterdir())
