from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from showcase_common.bus import ConsumerSpec, Delivery
from showcase_common.runner import Service
from syncer.bootstrap import Syncer, build, make_syncer
from syncer.config import SyncerConsumerSettings, SyncerSettings

from tests.support.fakes import FakePublisher, FakeSnapshotStore, FakeSnapshotter, MemoryLedger
from tests.support.ports import FakeSyncerPorts


@dataclass
class World:
    settings: SyncerSettings
    service: Service
    syncer: Syncer
    """The same parts `build` wires (for what is not a consumer: the first generation)."""
    store: FakeSnapshotStore
    snapshotter: FakeSnapshotter
    publisher: FakePublisher
    ledger: MemoryLedger
    sleeps: list[float]

    @property
    def consumer(self) -> ConsumerSpec:
        [spec] = self.service.consumers
        return spec

    async def consume(self, deliveries: Sequence[Delivery]) -> None:
        """One fetch, through the service's handler table."""
        await self.consumer.handle_batch(deliveries)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def make_world(tmp_path: Path, **overrides: Any) -> World:
    settings = SyncerSettings(
        _env_file=None,
        syncer_work_dir=tmp_path / "staging",
        syncer_s3_attempts=5,
        consumer=SyncerConsumerSettings(max_deliver=3),
        **overrides,
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:  # retries without waiting
        sleeps.append(seconds)

    ports = FakeSyncerPorts(sleep=sleep)
    return World(
        settings,
        build(settings, ports),
        make_syncer(settings, ports),
        ports.store,
        ports.snapshotter,
        ports.publisher,
        ports.ledger,
        sleeps,
    )
