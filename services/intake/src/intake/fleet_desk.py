"""The admin page's view of the fleet and its hold on roll-outs: the `FleetDesk` port and its
adapter over NATS (and HTTP to the machines).

What it reads, and from where — intake has no object-store credentials, so where `showcasectl
status` reads S3's pointer, intake reads the bus:
- the pause (KV `fleet_control`, `showcase_common.fleet_control`), which it also changes;
- the pin: the held pin in that bucket, else the last `RollbackRequested` when no `IndexSynced`
  came after it (`fleet_status.pin_from_events`); the newest generation from the last
  `IndexSynced` — each the last message of its subject, read directly (no consumer);
- the last operator actions (`showcase_common.audit.recent_actions`);
- each machine's generation, asked as `showcasectl status` asks it (`fleet_status`), the
  machines listed as the updater lists them (FLEET_FILE, or Fly's Machines API).
Every failure to reach the bus is `BusUnavailable` (the page says so and still shows the rest).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from showcase_common import events, subjects
from showcase_common.audit import RecordedAction, recent_actions
from showcase_common.bus.errors import BusUnavailable
from showcase_common.bus.link import NatsLink
from showcase_common.fleet_control import KvFleetControl, PauseControl, PauseState
from showcase_common.fleet_status import (
    FleetFileError,
    MachineStatus,
    PinView,
    Stored,
    load_machines,
    machine_statuses,
    newest_generation,
    pin_from_events,
)
from showcase_common.settings import FleetSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class BusReading:
    """What the bus says of the fleet right now."""

    pause: PauseState | None = None
    pin: PinView | None = None
    newest: int | None = None
    actions: list[RecordedAction] = field(default_factory=list)


@dataclass
class MachineReading:
    machines: list[MachineStatus] = field(default_factory=list)
    error: str | None = None
    """Why the machines could not be listed (a fleet file unreadable, Fly's API down)."""


class FleetDesk(PauseControl, Protocol):
    """The fleet as the admin page shows it, and the pause it changes."""

    async def read(self, actions: int) -> BusReading:
        """The pause, the pin, the newest generation and the last `actions` actions;
        `BusUnavailable` when NATS cannot be reached."""

    async def machines(self) -> MachineReading:
        """Every machine's generation (an unreachable one carries its error)."""


class NatsFleetDesk:
    """`FleetDesk` over the service's NATS link and HTTP to the machines."""

    def __init__(self, link: NatsLink, fleet: FleetSettings, *, replicas: int = 1) -> None:
        self._link, self._fleet = link, fleet
        self._control = KvFleetControl(self._jetstream, replicas=replicas)

    def _jetstream(self) -> JetStreamContext:
        try:
            return self._link.jetstream()
        except ConnectionError as exc:
            raise BusUnavailable(str(exc)) from exc

    async def read(self, actions: int) -> BusReading:
        try:
            js = self._jetstream()
            synced = await _last(js, subjects.INDEX_SYNCED)
            rollback = await _last(js, subjects.ROLLBACK_REQUESTED)
            return BusReading(
                pause=await self._control.pause_state(),
                pin=pin_from_events(synced, rollback, await self._control.pin_hold()),
                newest=newest_generation(synced),
                actions=await recent_actions(js, actions),
            )
        except BusUnavailable:
            raise
        except Exception as exc:
            raise BusUnavailable(f"reading the fleet's state from NATS failed: {exc}") from exc

    async def machines(self) -> MachineReading:
        try:
            listed = await load_machines(self._fleet)
        except FleetFileError as exc:
            return MachineReading(error=str(exc))
        agents = [m for m in listed if m.protocol != "update_config"]
        found = await machine_statuses(agents, timeout_s=self._fleet.agent_timeout_s)
        # The Rails machines' CGI has no status endpoint: `showcasectl status` reads their
        # generation from the stream's updates and their pages, which the page does not repeat.
        found += [
            MachineStatus(m, None, source="updates")
            for m in listed
            if m.protocol == "update_config"
        ]
        return MachineReading(found)

    async def pause_state(self) -> PauseState | None:
        return await self._guarded(self._control.pause_state())

    async def pause(self, state: PauseState) -> tuple[PauseState, bool]:
        return await self._guarded(self._control.pause(state))

    async def resume(self) -> PauseState | None:
        return await self._guarded(self._control.resume())

    async def _guarded(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except BusUnavailable:
            raise
        except Exception as exc:
            raise BusUnavailable(f"the pause could not be read or changed: {exc}") from exc


async def _last(js: JetStreamContext, subject: str) -> Stored | None:
    """The last event on `subject` in the pipeline's stream, with its sequence."""
    try:
        raw = await js.get_last_msg(subjects.STREAM, subject)
    except NotFoundError:
        return None
    try:
        event = events.decode(subject, raw.data or b"")
    except events.UndecodableEvent:
        return None
    return Stored(raw.seq or 0, event)
