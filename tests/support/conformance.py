"""Every fake is its port: one assignment per port protocol, checked by mypy (never run).

A fake that drifts from its protocol (a method renamed, a parameter added, a return type
changed) makes `uv run mypy` fail here, naming the port and the missing or wrong member.
`tests/unit/workspace/test_conformance.py` checks that every `Protocol` port of the code has a
line here, so a new port cannot go without its fake being checked.
"""

from __future__ import annotations

from intake.fleet_desk import FleetDesk
from intake.ports import Pipeline
from machine_updater.bodies import SnapshotBodies
from machine_updater.client import MachineClient
from machine_updater.fleet import Fleet
from machine_updater.newest_snapshot import NewestSnapshot, SnapshotLookup
from progress_gateway.store import ProgressStore
from showcase_common.bus.publisher import EventPublisher
from showcase_common.fleet_control import FleetControl, PauseControl
from showcase_common.mail import Mailer
from showcase_common.snapshots import SnapshotSource, SnapshotStore
from showcasectl.alerts import AlertLedger
from showcasectl.stuck import WatchBook
from syncer.ledger import SyncLedger
from syncer.snapshot import SnapshotTaker

from tests.support.fakes import (
    FakeAlertLedger,
    FakeBodies,
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


def conforms() -> None:
    """Not called: mypy checks each assignment (the fake must be a structural subtype)."""
    _store: SnapshotStore = FakeSnapshotStore()
    _source: SnapshotSource = FakeSnapshotStore()  # what an agent reads
    _publisher: EventPublisher = FakePublisher()
    _control: FleetControl = FakeFleetControl()
    _pause: PauseControl = FakeFleetControl()
    _desk: FleetDesk = FakeFleetDesk()
    _ledger: SyncLedger = MemoryLedger()
    _snapshotter: SnapshotTaker = FakeSnapshotter()
    _fleet: Fleet = FakeFleet([])
    _client: MachineClient = FakeMachineClient({}, set())
    _newest_snapshot: NewestSnapshot = FakeNewestSnapshot()
    _snapshot_lookup: SnapshotLookup = FakeNewestSnapshot()
    _bodies: SnapshotBodies = FakeBodies()
    _progress: ProgressStore = FakeProgressStore()
    _pipeline: Pipeline = FakePipeline()
    _mailer: Mailer = FakeMailer()
    _alert_ledger: AlertLedger = FakeAlertLedger()
    _watch_book: WatchBook = FakeWatchBook()


PORTS = {
    "SnapshotStore",
    "SnapshotSource",
    "EventPublisher",
    "FleetControl",
    "PauseControl",
    "FleetDesk",
    "SyncLedger",
    "SnapshotTaker",
    "Fleet",
    "MachineClient",
    "NewestSnapshot",
    "SnapshotLookup",
    "SnapshotBodies",
    "ProgressStore",
    "Pipeline",
    "Mailer",
    "AlertLedger",
    "WatchBook",
}
"""The port protocols checked above (by class name)."""
