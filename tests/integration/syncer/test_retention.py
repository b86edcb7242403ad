"""Retention on the real S3 endpoint: old generations and race orphans go, the rest stays."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from showcase_common.settings import S3Settings
from showcase_common.snapshots import S3SnapshotStore, sha256_file
from syncer.retention import Retention, RetentionPolicy

from tests.integration.syncer.indexdb import create_index


@pytest.fixture
def store(s3_settings: S3Settings, tmp_path: Path) -> S3SnapshotStore:
    """Generations 1–5 published in turn (pointer and legacy copy at 5), and an orphan 7 that a
    syncer uploaded and then lost the pointer race for."""
    store = S3SnapshotStore.from_settings(s3_settings)
    index = tmp_path / "index.sqlite3"
    create_index(index, wal=False)
    etag = None
    for generation in range(1, 6):
        snapshot = store.upload(index, generation, sha256_file(index))
        store.advance_pointer(snapshot, etag)
        _, etag = store.latest()
    store.upload_legacy(index, 5)
    store.upload(index, 7, sha256_file(index))
    return store


def _generations(store: S3SnapshotStore) -> list[int]:
    return [g.generation for g in store.list_generations()]


async def test_old_generations_are_removed_and_the_pointer_kept(
    store: S3SnapshotStore, tmp_path: Path
) -> None:
    retention = Retention(store, RetentionPolicy(keep=3, min_age=dt.timedelta(0)))

    assert await retention.prune() == [1, 2, 3]

    assert _generations(store) == [4, 5, 7]
    latest, _ = store.latest()
    assert latest is not None and latest.generation == 5
    store.download(latest, tmp_path / "latest.sqlite3")  # still there, still verified
    assert await retention.prune() == []  # nothing left to do, and no error


async def test_nothing_younger_than_the_minimum_age_is_removed(store: S3SnapshotStore) -> None:
    listed = store.list_generations()
    assert all(g.last_modified.tzinfo is not None for g in listed)
    retention = Retention(store, RetentionPolicy(keep=1, min_age=dt.timedelta(hours=1)))

    assert await retention.prune() == []
    assert _generations(store) == [1, 2, 3, 4, 5, 7]

    an_hour_later = listed[-1].last_modified + dt.timedelta(hours=1, seconds=1)
    later = Retention(
        store, RetentionPolicy(keep=1, min_age=dt.timedelta(hours=1)), lambda: an_hour_later
    )
    assert await later.prune() == [1, 2, 3, 4]
    assert _generations(store) == [5, 7]  # the pointer's generation, whatever `keep` says
