from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from syncer.bootstrap import Syncer, bootstrap
from syncer.config import SyncerSettings

from tests.support.fakes import FakePublisher, FakeSnapshotStore, FakeSnapshotter, MemoryLedger


@dataclass
class World:
    syncer: Syncer
    store: FakeSnapshotStore
    snapshotter: FakeSnapshotter
    publisher: FakePublisher
    ledger: MemoryLedger
    sleeps: list[float]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def make_world(tmp_path: Path, **overrides: Any) -> World:
    settings = SyncerSettings(
        _env_file=None,  # type: ignore[call-arg]
        syncer_work_dir=tmp_path / "staging",
        syncer_s3_attempts=5,
        syncer_max_deliver=3,
        **overrides,
    )
    store, snapshotter = FakeSnapshotStore(), FakeSnapshotter(range(100))
    publisher, ledger = FakePublisher(), MemoryLedger()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:  # retries without waiting
        sleeps.append(seconds)

    syncer = bootstrap(
        settings,
        store=store,
        publisher=publisher,
        ledger=ledger,
        snapshotter=snapshotter,
        sleep=sleep,
    )
    return World(syncer, store, snapshotter, publisher, ledger, sleeps)
