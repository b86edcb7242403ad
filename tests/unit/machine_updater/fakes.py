"""Fakes that implement the machine-updater's ports (no mock library)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from machine_updater.client import MachineClient, MachineError, MachineRefused
from machine_updater.feed import SnapshotFeed
from machine_updater.fleet import Fleet, FleetError, Machine
from nats.js.api import PubAck
from showcase_common import events, subjects
from showcase_common.bus import Publisher
from showcase_common.events import Snapshot


class FakePublisher(Publisher):
    """Keeps what was published and drops a repeated msg id, as JetStream's window does."""

    def __init__(self) -> None:
        self.published: list[tuple[events.Event, str]] = []
        self._seen: set[str] = set()
        self.broken = False

    async def publish(self, event: events.Event, *, msg_id: str | None = None) -> PubAck:
        if self.broken:
            raise ConnectionError("nats: no servers available")
        key = msg_id or event.event_id
        duplicate = key in self._seen
        if not duplicate:
            self._seen.add(key)
            self.published.append((event, key))
        return PubAck(stream=subjects.STREAM, seq=len(self.published), duplicate=duplicate or None)

    def of(self, kind: type[events.Event]) -> list:  # type: ignore[type-arg]
        return [e for e, _ in self.published if isinstance(e, kind)]


class FakeFleet(Fleet):
    def __init__(self, machines: list[Machine]) -> None:
        self.list = machines
        self.broken = False

    async def machines(self) -> list[Machine]:
        if self.broken:
            raise FleetError("the Fly API answered 503")
        return list(self.list)


class FakeFeed(SnapshotFeed):
    def __init__(self, newest: Snapshot | None = None) -> None:
        self.value = newest

    async def newest(self) -> Snapshot | None:
        return self.value


@dataclass
class FakeMachine:
    """What one fake agent serves and how it misbehaves."""

    generation: int | None = None
    pages: set[str] = field(default_factory=set)
    down_for: int = 0
    """The next N calls fail as if the machine were unreachable."""
    refuse: bool = False
    hang: bool = False
    render_pages: bool = True
    """Whether an update makes the requested pages appear."""


class FakeMachineClient(MachineClient):
    """A fleet of fake agents; counts calls and how many updates run at the same time."""

    def __init__(self, machines: dict[str, FakeMachine], pages: set[str]) -> None:
        self.machines = machines
        self.pages_after_update = pages
        self.updates: Counter[str] = Counter()
        self.applied: dict[str, list[int]] = {}
        self.showcase_ids: dict[str, list[int]] = {}
        """What each machine's last update call named as the new showcases."""
        self.in_flight = 0
        self.max_in_flight = 0
        self.release_at = 1
        """Updates wait until this many run at once (proves parallelism without timing)."""
        self._release = asyncio.Event()
        self.after_update: list = []  # type: ignore[type-arg]

    def _machine(self, machine: Machine) -> FakeMachine:
        fake = self.machines[machine.id]
        if fake.down_for > 0:
            fake.down_for -= 1
            raise MachineError("connection refused")
        return fake

    async def status(self, machine: Machine) -> int | None:
        return self._machine(machine).generation

    async def update(
        self, machine: Machine, snapshot: Snapshot, showcase_ids: Sequence[int] = ()
    ) -> int:
        fake = self._machine(machine)
        self.showcase_ids[machine.id] = list(showcase_ids)
        if fake.refuse:
            raise MachineRefused("update_config answered 401: wrong secret")
        self.updates[machine.id] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._wait_for_peers()
            if fake.hang:
                await asyncio.Event().wait()
        finally:
            self.in_flight -= 1
        fake.generation = snapshot.generation
        self.applied.setdefault(machine.id, []).append(snapshot.generation)
        if fake.render_pages:
            fake.pages |= self.pages_after_update
        for hook in self.after_update:
            hook(machine, snapshot)
        return snapshot.generation

    async def _wait_for_peers(self) -> None:
        if self.in_flight >= self.release_at:
            self._release.set()
        # A bounded wait: if the updates ran one by one, max_in_flight tells the test so.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), 5)

    async def page_status(self, machine: Machine, path: str) -> int:
        return 200 if path in self._machine(machine).pages else 404
