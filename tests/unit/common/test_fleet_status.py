"""The fleet's projections shared by `showcasectl status` and intake's admin page: each
machine's state word and problem, and the pin as the bus tells it."""

from __future__ import annotations

import datetime as dt

from showcase_common import events
from showcase_common.fleet_control import PinHold
from showcase_common.fleet_status import (
    Machine,
    MachineStatus,
    PinView,
    Stored,
    machine_problem,
    machine_state,
    newest_generation,
    pin_from_events,
)

M = Machine("m1", "iad", "http://m1")


def _snapshot(generation: int) -> events.Snapshot:
    return events.Snapshot(
        generation=generation, object_key=f"db/{generation}", sha256="0" * 64, size=1
    )


def test_a_machine_behind_the_newest_is_behind_unless_paused() -> None:
    behind = MachineStatus(M, 3)
    assert machine_state(behind, newest=4, pin=None) == "BEHIND"
    assert machine_problem(behind, newest=4, pin=None, paused=False) == (
        "machine m1 serves generation 3, S3 has 4"
    )
    assert machine_problem(behind, newest=4, pin=None, paused=True) is None  # waiting on purpose
    assert machine_state(MachineStatus(M, 4), newest=4, pin=None) == "up to date"


def test_while_pinned_a_machine_is_on_the_pin_or_not() -> None:
    pin = PinView(2, True, "alice", "bad css")
    assert machine_state(MachineStatus(M, 2), newest=4, pin=pin) == "pinned"
    assert machine_problem(MachineStatus(M, 2), newest=4, pin=pin, paused=False) is None
    assert machine_state(MachineStatus(M, 4), newest=4, pin=pin) == "NOT ON THE PIN"
    assert "pinned to 2" in (
        machine_problem(MachineStatus(M, 4), newest=4, pin=pin, paused=False) or ""
    )


def test_an_unreachable_machine_says_why() -> None:
    down = MachineStatus(M, None, "ConnectError: refused")
    assert machine_state(down, newest=1, pin=None) == "unreachable: ConnectError: refused"
    assert machine_problem(down, newest=1, pin=None, paused=True) == (
        "machine m1 unreachable: ConnectError: refused"
    )


def test_the_pin_from_the_bus() -> None:
    synced = Stored(10, events.IndexSynced(snapshot=_snapshot(5), requests=[]))
    rollback = events.RollbackRequested(snapshot=_snapshot(3), actor="alice", reason="oops")
    held = events.RollbackRequested(snapshot=_snapshot(3), actor="alice", hold=True)
    assert newest_generation(synced) == 5 and newest_generation(None) is None
    assert pin_from_events(synced, None, None) is None
    # a rollback after the last sync pins until the next sync
    assert pin_from_events(synced, Stored(11, rollback), None) == PinView(
        3, False, "alice", "oops", rollback.occurred_at.isoformat()
    )
    assert pin_from_events(Stored(12, synced.event), Stored(11, rollback), None) is None
    # a held pin lasts until unpin (KV), whatever was synced since
    hold = PinHold(
        generation=3, pinned_by="alice", reason="r", since=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    )
    assert pin_from_events(Stored(12, synced.event), Stored(11, held), hold) == PinView(
        3, True, "alice", "r", "2030-01-01T00:00:00+00:00"
    )
    assert pin_from_events(synced, Stored(11, held), None) is None  # unpinned: the hold is gone
