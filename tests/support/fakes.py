"""The one in-memory implementation of each port, used by every test that needs one.

Each fake implements the port's `Protocol` (never a subclass of the real adapter, so a method
it lacks fails loudly instead of reaching S3 or NATS) and keeps what a test wants to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import hashlib
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intake.fleet_desk import BusReading, MachineReading
from machine_updater.client import MachineError, MachineRefused, Updated
from machine_updater.fleet import FleetError, Machine
from machine_updater.newest_snapshot import Announced
from nats.js.api import PubAck
from progress_gateway.projection import ProjectedProgress
from progress_gateway.store import StaleRevision, Versioned
from showcase_common import subjects
from showcase_common.audit import OperatorAction, RecordedAction
from showcase_common.bus.errors import BusUnavailable
from showcase_common.events import Event, IndexSynced, Snapshot
from showcase_common.fleet_control import PauseState, PinHold
from showcase_common.fleet_status import MachineStatus, PinView
from showcase_common.mail import MailRejected, MailUnavailable
from showcase_common.progress import RequestProgress
from showcase_common.replay import PageAnswer
from showcase_common.snapshots import (
    ChecksumMismatch,
    GenerationTaken,
    Pin,
    Pointer,
    PointerConflict,
    SnapshotStoreError,
    StoredGeneration,
)
from showcasectl.stuck import StaleEntry, Watched
from syncer.snapshot import LocalSnapshot

# --- libs/common ports -------------------------------------------------------------------------


class FakeFleetControl:
    """A `FleetControl` in memory; `read` is set each time the pause is read while in force
    (a test waits on it instead of sleeping), `broken` a bus that cannot be reached."""

    def __init__(self, paused: PauseState | None = None) -> None:
        self.state = paused
        self.pin: PinHold | None = None
        self.lifted: dt.datetime | None = None
        self.broken = False
        self.read = asyncio.Event()
        self.reads = 0

    async def pause_state(self) -> PauseState | None:
        if self.broken:
            raise ConnectionError("nats: no servers available")
        self.reads += 1
        if self.state is not None:
            self.read.set()
        return self.state

    async def pause(self, state: PauseState) -> tuple[PauseState, bool]:
        if self.state is not None:
            return self.state, False
        self.state = state
        return state, True

    async def resume(self) -> PauseState | None:
        lifted, self.state = self.state, None
        if lifted is not None:
            self.lifted = dt.datetime.now(dt.UTC)
        return lifted

    async def pin_hold(self) -> PinHold | None:
        if self.broken:
            raise ConnectionError("nats: no servers available")
        if self.pin is not None:
            self.read.set()
        return self.pin

    async def hold_pin(self, hold: PinHold) -> None:
        self.pin = hold

    async def release_pin(self) -> PinHold | None:
        lifted, self.pin = self.pin, None
        if lifted is not None:
            self.lifted = dt.datetime.now(dt.UTC)
        return lifted

    async def lifted_at(self) -> dt.datetime | None:
        if self.broken:
            raise ConnectionError("nats: no servers available")
        return self.lifted


class FakeSnapshotStore:
    """A `SnapshotStore` in dicts, with the real one's layout and rules: a generation is written
    once, the pointer moves only from the ETag that was read, a download checks its sha256.

    `down` fails every call, `outage` the next N, `listing_outage` the next N listings, like an
    unreachable endpoint; `gate`, when set, holds downloads until it is set (a slow store)."""

    def __init__(self, prefix: str = "db") -> None:
        self.prefix = prefix
        self.objects: dict[str, bytes] = {}
        self.modified: dict[str, dt.datetime] = {}
        self.pointer: Snapshot | None = None
        self.pointer_etag: str | None = None
        self.pin: Pin | None = None
        self.legacy_generation: int | None = None
        self.down = False
        self.outage = 0
        self.listing_outage = 0
        self.uploads: list[int] = []
        self.downloads: list[int] = []
        self.gate: threading.Event | None = None
        self.before_advance: list[Callable[[], object]] = []
        """Callbacks run once just before the pointer write (a racing syncer)."""

    def generation_key(self, generation: int) -> str:
        return f"{self.prefix}/generations/{generation:012d}.sqlite3"

    @property
    def legacy_key(self) -> str:
        return f"{self.prefix}/index.sqlite3"

    def _maybe_fail(self) -> None:
        if self.down:
            raise SnapshotStoreError("EndpointConnectionError: store is down")
        if self.outage:
            self.outage -= 1
            raise SnapshotStoreError("EndpointConnectionError: connection refused")

    def check_bucket(self) -> None:
        self._maybe_fail()

    def ensure_bucket(self) -> None:
        self._maybe_fail()

    def latest(self) -> tuple[Snapshot | None, str | None]:
        self._maybe_fail()
        return self.pointer, self.pointer_etag

    def read_pointer(self) -> tuple[Pointer | None, str | None]:
        self._maybe_fail()
        if self.pointer is None:
            return None, None
        return Pointer.of(self.pointer, self.pin), self.pointer_etag

    def describe(self, generation: int) -> Snapshot | None:
        self._maybe_fail()
        key = self.generation_key(generation)
        data = self.objects.get(key)
        if data is None:
            return None
        sha256 = hashlib.sha256(data).hexdigest()
        return Snapshot(generation=generation, object_key=key, sha256=sha256, size=len(data))

    def set_pin(self, pin: Pin | None, expected_etag: str | None) -> None:
        self._maybe_fail()
        if self.pointer is None:
            raise SnapshotStoreError("no pointer yet")
        if expected_etag != self.pointer_etag:
            raise PointerConflict("moved")
        self.pin, self.pointer_etag = pin, uuid.uuid4().hex

    def upload(self, path: Path, generation: int, sha256: str) -> Snapshot:
        self._maybe_fail()
        key = self.generation_key(generation)
        if key in self.objects:
            raise GenerationTaken(key)
        data = path.read_bytes()
        self.objects[key] = data
        self.modified[key] = dt.datetime.now(dt.UTC)
        self.uploads.append(generation)
        return Snapshot(generation=generation, object_key=key, sha256=sha256, size=len(data))

    def advance_pointer(
        self, snapshot: Snapshot, expected_etag: str | None, pin: Pin | None = None
    ) -> None:
        self._maybe_fail()
        while self.before_advance:
            self.before_advance.pop(0)()
        if expected_etag != self.pointer_etag:
            raise PointerConflict("moved")
        self.force_pointer(snapshot)
        self.pin = pin

    def force_pointer(self, snapshot: Snapshot) -> None:
        self.pointer, self.pointer_etag = snapshot, uuid.uuid4().hex

    def upload_legacy(self, path: Path, generation: int, *, adopt: bool = False) -> bool:
        self._maybe_fail()
        foreign = self.legacy_key in self.objects and self.legacy_generation is None
        if foreign and not adopt:
            return False
        if self.legacy_generation is None or self.legacy_generation < generation:
            self.objects[self.legacy_key] = path.read_bytes()
            self.legacy_generation = generation
        return True

    def place_foreign_legacy(self, data: bytes) -> None:
        """A `db/index.sqlite3` the pipeline did not write (the Rails app's): no generation."""
        self.objects[self.legacy_key] = data
        self.legacy_generation = None

    def list_generations(self) -> list[StoredGeneration]:
        self._maybe_fail()
        if self.listing_outage:
            self.listing_outage -= 1
            raise SnapshotStoreError("AccessDenied: s3:ListBucket")
        return sorted(
            (
                StoredGeneration(int(Path(key).stem), key, self.modified[key])
                for key in self.objects
                if key.startswith(f"{self.prefix}/generations/")
            ),
            key=lambda g: g.generation,
        )

    def delete(self, keys: list[str]) -> None:
        self._maybe_fail()
        for key in keys:
            self.objects.pop(key, None)

    def download(self, snapshot: Snapshot, dest: Path) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        self._maybe_fail()
        self.downloads.append(snapshot.generation)
        data = self.objects.get(snapshot.object_key)
        if data is None:
            raise SnapshotStoreError(f"NoSuchKey: {snapshot.object_key}")
        dest.write_bytes(data)
        if hashlib.sha256(data).hexdigest() != snapshot.sha256:
            dest.unlink()
            raise ChecksumMismatch(f"snapshot {snapshot.object_key} checksum differs")

    def generations(self) -> list[int]:
        return [g.generation for g in self.list_generations()]


class FakePublisher:
    """An `EventPublisher` that keeps what was published and drops a repeated msg id, as
    JetStream's de-duplication window does; `broken` is a bus that cannot be reached.

    `acks` (when set) holds every acknowledgement until it is set: `sent` lists the publishes
    begun meanwhile, `published` only the acknowledged (durable) ones. `failing` names msg ids
    whose next publish fails (once each), as a lost acknowledgement would."""

    def __init__(self) -> None:
        self.published: list[tuple[Event, str]] = []
        self.sent: list[str] = []
        self._seen: set[str] = set()
        self.broken = False
        self.acks: asyncio.Event | None = None
        self.failing: set[str] = set()
        self._sending: asyncio.Event | None = None

    async def wait_sent(self, count: int) -> None:
        """Until `count` publishes have begun (acknowledged or not)."""
        while len(self.sent) < count:
            self._sending = asyncio.Event()
            await self._sending.wait()

    async def publish(self, event: Event, *, msg_id: str | None = None) -> PubAck:
        if self.broken:
            raise ConnectionError("nats: no servers available")
        key = msg_id or event.event_id
        self.sent.append(key)
        if self._sending is not None:
            self._sending.set()
        if self.acks is not None:
            await self.acks.wait()
        if key in self.failing:
            self.failing.discard(key)
            raise TimeoutError(f"nats: timeout waiting for the ack of {key}")
        duplicate = key in self._seen
        if not duplicate:
            self._seen.add(key)
            self.published.append((event, key))
        return PubAck(stream=subjects.STREAM, seq=len(self.published), duplicate=duplicate or None)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e, _ in self.published if isinstance(e, kind)]


# --- intake ------------------------------------------------------------------------------------


class FakePipeline:
    def __init__(self, *, up: bool = True) -> None:
        self.up = up
        self.published: list[tuple[str, Event]] = []
        self.states: dict[str, RequestProgress] = {}
        self.actions: list[OperatorAction] = []
        """The audit trail's records (a Retry)."""
        self.audit_up = True
        """False: the audit stream cannot be written (the outbox still takes events)."""

    @property
    def connected(self) -> bool:
        return self.up

    async def publish(self, event: Event, *, msg_id: str) -> None:
        if not self.up:
            raise BusUnavailable("fake bus is down")
        if msg_id not in {m for m, _ in self.published}:  # JetStream's de-duplication
            self.published.append((msg_id, event))

    async def record_action(self, action: OperatorAction) -> None:
        if not self.up or not self.audit_up:
            raise BusUnavailable("fake bus is down")
        if action.action_id not in {a.action_id for a in self.actions}:  # de-duplicated
            self.actions.append(action)

    async def request_state(self, request_id: str) -> RequestProgress | None:
        if not self.up:
            raise BusUnavailable("fake bus is down")
        return self.states.get(request_id)


class FakeFleetDesk:
    """Intake's `FleetDesk` in memory: the pause in a `FakeFleetControl`, the rest as set by
    the test (`pin`, `newest`, `actions`, `machines`); `up=False` is NATS unreachable."""

    def __init__(self, machines: Sequence[MachineStatus] = ()) -> None:
        self.control = FakeFleetControl()
        self.up = True
        self.pin: PinView | None = None
        self.newest: int | None = None
        self.actions: list[RecordedAction] = []
        self.listed = MachineReading(list(machines))

    def _check(self) -> None:
        if not self.up:
            raise BusUnavailable("fake NATS is down")

    async def read(self, actions: int) -> BusReading:
        self._check()
        return BusReading(
            pause=self.control.state,
            pin=self.pin,
            newest=self.newest,
            actions=self.actions[-actions:],
        )

    async def machines(self) -> MachineReading:
        return self.listed

    async def pause_state(self) -> PauseState | None:
        self._check()
        return await self.control.pause_state()

    async def pause(self, state: PauseState) -> tuple[PauseState, bool]:
        self._check()
        return await self.control.pause(state)

    async def resume(self) -> PauseState | None:
        self._check()
        return await self.control.resume()


class FakeMailer:
    """The one `showcase_common.mail.Mailer` fake (intake's e-mails, the admin alerter's).
    Keeps what it accepted; `up=False` is a server that is not there, `refuse` one that
    answers 5xx."""

    def __init__(self, *, up: bool = True, refuse: bool = False) -> None:
        self.up, self.refuse = up, refuse
        self.sent: list[tuple[str, str]] = []
        self.message_ids: list[str] = []
        self.recipients: list[str | None] = []
        """Each accepted mail's `to` (None: the admins' address)."""
        self.html: list[str | None] = []
        self.attempts = 0

    async def send(
        self,
        subject: str,
        body: str,
        *,
        message_id: str,
        to: str | None = None,
        html: str | None = None,
    ) -> None:
        self.attempts += 1
        if not self.up:
            raise MailUnavailable("fake SMTP server is down")
        if self.refuse:
            raise MailRejected("550 fake SMTP server refuses")
        self.sent.append((subject, body))
        self.message_ids.append(message_id)
        self.recipients.append(to)
        self.html.append(html)


class FixedClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


# --- syncer ------------------------------------------------------------------------------------


class FakeSnapshotter:
    """Snapshots whose content is a counter; `showcase_ids` is what the copy holds."""

    def __init__(self, showcase_ids: Iterable[int] = ()) -> None:
        self.showcase_ids = set(showcase_ids)
        self.taken = 0

    def take(self, dest_dir: Path) -> LocalSnapshot:
        self.taken += 1
        dest_dir.mkdir(parents=True, exist_ok=True)
        path = dest_dir / f"snap-{uuid.uuid4().hex}.sqlite3"
        data = f"snapshot {self.taken}".encode()
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        return LocalSnapshot(path, sha, len(data), frozenset(self.showcase_ids))


class MemoryLedger:
    def __init__(self) -> None:
        self.entries: dict[str, int] = {}

    async def generation_of(self, request_id: str) -> int | None:
        return self.entries.get(request_id)

    async def record(self, request_ids: Iterable[str], generation: int) -> None:
        for request_id in request_ids:
            self.entries.setdefault(request_id, generation)


# --- machine-updater ---------------------------------------------------------------------------


class FakeFleet:
    def __init__(self, machines: list[Machine]) -> None:
        self.list = machines
        self.broken = False

    async def machines(self) -> list[Machine]:
        if self.broken:
            raise FleetError("the Fly API answered 503")
        return list(self.list)


class FakeNewestSnapshot:
    def __init__(self, newest: Snapshot | None = None) -> None:
        self.value = newest
        self.announced: list[IndexSynced] = []
        """The IndexSynced "stored", position i + 1 each (tests append to it)."""

    async def newest(self) -> Snapshot | None:
        return self.value

    async def announced_after(self, seq: int | None) -> list[Announced]:
        stored = [Announced(i + 1, event) for i, event in enumerate(self.announced)]
        if seq is None:
            return stored[-1:]
        return [a for a in stored if a.seq > seq]


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
    replays: dict[str, str] = field(default_factory=dict)
    """Pages it answers with a fly-replay, by path → the region the replay names."""
    page_not_yet: int = 0
    """The next N page asks answer 404 (a page that appears after the update answered)."""
    page_asks: int = 0
    reports_pages: bool = False
    """Whether its update answer says how its pages answered (as an agent does); False: as the
    Rails CGI (or an agent from before), the updater must ask."""
    reported: dict[str, PageAnswer] | None = None
    """What it reports, when not what it serves (a page it gets wrong)."""

    def answer(self, path: str) -> PageAnswer:
        if path in self.pages:
            return PageAnswer(200)
        if path in self.replays:
            return PageAnswer(307, self.replays[path])
        return PageAnswer(404)

    def own_check(self, paths: Iterable[str]) -> dict[str, PageAnswer]:
        if not self.reports_pages:
            return {}
        if self.reported is not None:
            return dict(self.reported)
        return {path: self.answer(path) for path in paths}


class FakeMachineClient:
    """A fleet of fake agents; counts calls and how many updates run at the same time.

    As an agent does, an update of a generation it already serves (or older) is a no-op: it
    counts in `calls`, not in `updates` (what was applied)."""

    def __init__(self, machines: dict[str, FakeMachine], pages: set[str]) -> None:
        self.machines = machines
        self.pages_after_update = pages
        self.calls: Counter[str] = Counter()
        self.order: list[str] = []
        """The machines' update calls in the order they were made."""
        self.status_reads: Counter[str] = Counter()
        self.updates: Counter[str] = Counter()
        self.applied: dict[str, list[int]] = {}
        self.showcase_ids: dict[str, list[int]] = {}
        self.rollbacks: list[tuple[str, int, str]] = []
        """(machine, generation, actor) of each rollback call."""
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
        self.status_reads[machine.id] += 1
        return self._machine(machine).generation

    async def update(
        self, machine: Machine, snapshot: Snapshot, showcase_ids: Sequence[int] = ()
    ) -> Updated:
        fake = self._machine(machine)
        self.calls[machine.id] += 1
        self.order.append(machine.id)
        self.showcase_ids[machine.id] = list(showcase_ids)
        if fake.refuse:
            raise MachineRefused("update_config answered 401: wrong secret")
        if fake.generation is not None and fake.generation >= snapshot.generation:
            return Updated(fake.generation, applied=False, pages=fake.own_check(fake.pages))
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
        return Updated(
            snapshot.generation,
            pages=fake.own_check(self.pages_after_update | set(fake.replays)),
        )

    async def rollback(self, machine: Machine, snapshot: Snapshot, actor: str) -> int:
        fake = self._machine(machine)
        if fake.refuse:
            raise MachineRefused("update_config (rollback) answered 403: rollback refused")
        self.rollbacks.append((machine.id, snapshot.generation, actor))
        fake.generation = snapshot.generation
        return snapshot.generation

    async def _wait_for_peers(self) -> None:
        if self.in_flight >= self.release_at:
            self._release.set()
        # A bounded wait: if the updates ran one by one, max_in_flight tells the test so.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), 5)

    async def page(self, machine: Machine, path: str) -> PageAnswer:
        fake = self._machine(machine)
        fake.page_asks += 1
        if fake.page_not_yet > 0:
            fake.page_not_yet -= 1
            return PageAnswer(404)
        return fake.answer(path)


class FakeBodies:
    """The snapshot bodies an `update_config` machine is sent: gzip of bytes the test gives."""

    def __init__(self, by_generation: dict[int, bytes] | None = None) -> None:
        self.by_generation = dict(by_generation or {})
        self.asked: list[int] = []

    async def gzipped(self, snapshot: Snapshot) -> bytes:
        self.asked.append(snapshot.generation)
        data = self.by_generation.get(snapshot.generation, b"SQLite format 3\x00")
        return gzip.compress(data, mtime=0)


# --- progress-gateway --------------------------------------------------------------------------


class FakeProgressStore:
    """A dict with revisions and the same compare-and-set rule as the bucket."""

    def __init__(self) -> None:
        self.values: dict[str, Versioned] = {}
        self.revision = 0
        self.history: list[ProjectedProgress] = []
        self.before_write: Callable[[str], None] | None = None
        """Runs between a read and a write: lets a test race another replica in."""
        self.reads = 0

    async def read(self, request_id: str) -> Versioned | None:
        self.reads += 1
        return self.values.get(request_id)

    async def write(self, progress: ProjectedProgress, expected_revision: int | None) -> int:
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook(progress.request_id)
        current = self.values.get(progress.request_id)
        if (current.revision if current else None) != expected_revision:
            raise StaleRevision(progress.request_id)
        return self.put(progress)

    def put(self, progress: ProjectedProgress) -> int:
        self.revision += 1
        self.values[progress.request_id] = Versioned(progress, self.revision)
        self.history.append(progress)
        return self.revision

    def state(self, request_id: str) -> ProjectedProgress:
        return self.values[request_id].progress


# --- showcasectl alerts ------------------------------------------------------------------------


class FakeWatchBook:
    """The stuck watch's `WatchBook` in a dict, with the bucket's compare-and-set rule;
    `pending` is the consumer's backlog a check sees."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[Watched, int]] = {}
        self.revision = 0
        self.pending = 0

    async def read(self, request_id: str) -> tuple[Watched, int] | None:
        return self.values.get(request_id)

    async def write(self, entry: Watched, revision: int | None) -> None:
        current = self.values.get(entry.request.request_id)
        if (current[1] if current else None) != revision:
            raise StaleEntry(entry.request.request_id)
        self.revision += 1
        self.values[entry.request.request_id] = (entry, self.revision)

    async def forget(self, request_id: str, revision: int) -> None:
        current = self.values.get(request_id)
        if current is None or current[1] != revision:
            raise StaleEntry(request_id)
        del self.values[request_id]

    async def entries(self) -> list[Watched]:
        return [entry for entry, _ in self.values.values()]

    async def backlog(self) -> int:
        return self.pending


class FakeAlertLedger:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    async def alerted(self, request_id: str) -> bool:
        return request_id in self.ids

    async def record(self, request_id: str, subject: str) -> None:
        self.ids.add(request_id)
