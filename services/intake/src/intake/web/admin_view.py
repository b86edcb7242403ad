"""The admin page's content, built from what intake and the bus know: pure, so the page, its
JSON (`/admin/status.json`) and the tests read the same thing.

Machines' state words and problems are `showcase_common.fleet_status`'s, the ones `showcasectl
status` prints; the requests are grouped by their live state (the gateway's), not by intake's
row, so a request held by a pause shows as waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from showcase_common.audit import RecordedAction
from showcase_common.fleet_control import PauseState
from showcase_common.fleet_status import MachineStatus, PinView, machine_problem, machine_state
from showcase_common.progress import RequestProgress

from intake.apply_diff import ApplyDiff
from intake.fleet_desk import BusReading, MachineReading
from intake.models import RequestSummary


@dataclass(frozen=True)
class RequestRow:
    summary: RequestSummary
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**self.summary.model_dump(mode="json"), "error": self.error}


@dataclass(frozen=True)
class MachineRow:
    id: str
    region: str
    protocol: str
    generation: int | None
    state: str
    problem: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "region": self.region,
            "protocol": self.protocol,
            "generation": self.generation,
            "state": self.state,
            "ok": self.problem is None,
        }


@dataclass(frozen=True)
class ActionRow:
    seq: int
    at: str
    action: str
    actor: str
    via: str
    reason: str
    details: str

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AdminPage:
    waiting: list[RequestRow] = field(default_factory=list)
    running: list[RequestRow] = field(default_factory=list)
    failed: list[RequestRow] = field(default_factory=list)
    pause: PauseState | None = None
    pin: PinView | None = None
    newest: int | None = None
    machines: list[MachineRow] = field(default_factory=list)
    machines_error: str | None = None
    actions: list[ActionRow] = field(default_factory=list)
    """Newest first."""
    pending: ApplyDiff = field(default_factory=ApplyDiff)
    bus_error: str | None = None
    """Why the pause, pin and actions could not be read (NATS unreachable)."""

    @property
    def problems(self) -> list[str]:
        found = [m.problem for m in self.machines if m.problem]
        return [*filter(None, (self.bus_error, self.machines_error)), *found]

    def as_json(self) -> dict[str, Any]:
        return {
            "paused": self.pause is not None,
            "pause": self.pause.model_dump(mode="json") if self.pause else None,
            "pinned": self.pin is not None,
            "pin": self.pin.as_json() if self.pin else None,
            "newest_generation": self.newest,
            "machines": [m.as_json() for m in self.machines],
            "requests": {
                "waiting": [r.as_json() for r in self.waiting],
                "running": [r.as_json() for r in self.running],
                "failed": [r.as_json() for r in self.failed],
            },
            "actions": [a.as_json() for a in self.actions],
            "pending": pending_json(self.pending),
            "problems": self.problems,
        }


def admin_page(
    requests: list[tuple[RequestSummary, RequestProgress]],
    reading: BusReading | None,
    machines: MachineReading,
    pending: ApplyDiff,
    bus_error: str | None = None,
) -> AdminPage:
    """The page from its parts; `reading` None when the bus could not be read (`bus_error`)."""
    reading = reading or BusReading()
    page = AdminPage(
        pause=reading.pause,
        pin=reading.pin,
        newest=reading.newest,
        machines_error=machines.error,
        pending=pending,
        bus_error=bus_error,
        actions=[action_row(a) for a in reversed(reading.actions)],
    )
    page.machines = [machine_row(m, page) for m in machines.machines]
    groups = {"queued": page.waiting, "processing": page.running, "failed": page.failed}
    for summary, state in requests:
        group = groups.get(summary.status)
        if group is not None:  # completed since intake listed it: no longer the admins' concern
            group.append(RequestRow(summary, state.error if summary.status == "failed" else None))
    return page


UNREAD = "not read here: `showcasectl status` reads it from the updates"
"""An `update_config` machine has no status endpoint (`fleet_desk.NatsFleetDesk.machines`)."""


def machine_row(status: MachineStatus, page: AdminPage) -> MachineRow:
    machine = status.machine
    if status.source == "updates" and status.generation is None and status.error is None:
        return MachineRow(machine.id, machine.region, machine.protocol, None, UNREAD, None)
    problem = machine_problem(
        status, newest=page.newest, pin=page.pin, paused=page.pause is not None
    )
    return MachineRow(
        status.machine.id,
        status.machine.region,
        status.machine.protocol,
        status.generation,
        machine_state(status, newest=page.newest, pin=page.pin),
        problem,
    )


def action_row(recorded: RecordedAction) -> ActionRow:
    action = recorded.action
    details = ", ".join(f"{k}={_short(v)}" for k, v in action.details.items())
    return ActionRow(
        recorded.seq,
        action.at.strftime("%Y-%m-%d %H:%M:%S"),
        action.action.replace("_", " "),
        action.actor,
        action.via,
        action.reason,
        details,
    )


def _short(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def pending_json(pending: ApplyDiff) -> dict[str, Any]:
    def event(e: Any) -> dict[str, Any]:
        return {
            "year": e.year,
            "location": e.location,
            "key": e.key,
            "name": e.name,
            "date": e.date,
        }

    return {
        "empty": pending.empty,
        "added": [event(e) for e in pending.added],
        "changed": [
            {"before": event(c.before), "after": event(c.after), "fields": c.fields}
            for c in pending.changed
        ],
        "removed": [event(e) for e in pending.removed],
        "moved": [m.__dict__ for m in pending.moved],
    }
