"""`Fake<Name>Ports`: every service's ports made of the fakes in `tests/support/fakes`.

Unit tests build a service exactly as `python -m <service>` does, `build(settings, ports)`, with
these instead of `ports(settings)`. Each is the service's own `<Name>Ports` with the fields'
types narrowed to the fakes (so a test reaches `ports.store.generations()` typed) and no NATS
link (`nats=None`: the runner has nothing to open; tests drive the consumers' handler tables).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from intake.bootstrap import IntakePorts
from machine_agent.bootstrap import AgentPorts
from machine_updater.bootstrap import UpdaterPorts
from progress_gateway.bootstrap import GatewayPorts
from showcase_common.backoff import Sleep
from showcasectl.bootstrap import AlerterPorts
from syncer.bootstrap import SyncerPorts

from tests.support.fakes import (
    FakeAlertLedger,
    FakeFleet,
    FakeFleetControl,
    FakeFleetDesk,
    FakeMachineClient,
    FakeMailer,
    FakeNewestSnapshot,
    FakePipeline,
    FakeProgressStore,
    FakePublisher,
    FakeSnapshotStore,
    FakeSnapshotter,
    FakeWatchBook,
    MemoryLedger,
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(kw_only=True)
class FakeSyncerPorts(SyncerPorts):
    store: FakeSnapshotStore = field(default_factory=FakeSnapshotStore)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    snapshotter: FakeSnapshotter = field(default_factory=lambda: FakeSnapshotter(range(100)))
    sleep: Sleep = field(default=asyncio.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)


@dataclass(kw_only=True)
class FakeUpdaterPorts(UpdaterPorts):
    publisher: FakePublisher = field(default_factory=FakePublisher)
    newest_snapshot: FakeNewestSnapshot = field(default_factory=FakeNewestSnapshot)
    fleet: FakeFleet = field(default_factory=lambda: FakeFleet([]))
    client: FakeMachineClient = field(default_factory=lambda: FakeMachineClient({}, set()))
    control: FakeFleetControl | None = None


@dataclass(kw_only=True)
class FakeGatewayPorts(GatewayPorts):
    store: FakeProgressStore = field(default_factory=FakeProgressStore)


@dataclass(kw_only=True)
class FakeAgentPorts(AgentPorts):
    store: FakeSnapshotStore = field(default_factory=FakeSnapshotStore)


@dataclass(kw_only=True)
class FakeIntakePorts(IntakePorts):
    pipeline: FakePipeline = field(default_factory=FakePipeline)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    fleet: FakeFleetDesk = field(default_factory=FakeFleetDesk)
    clock: Callable[[], dt.datetime] = field(default=_utcnow)


@dataclass(kw_only=True)
class FakeAlerterPorts(AlerterPorts):
    mailer: FakeMailer = field(default_factory=FakeMailer)
    ledger: FakeAlertLedger = field(default_factory=FakeAlertLedger)
    watch_book: FakeWatchBook = field(default_factory=FakeWatchBook)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    control: FakeFleetControl = field(default_factory=FakeFleetControl)
