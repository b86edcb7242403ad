"""The pipeline's health in one look, and whether anything is stuck (`status`'s exit code).

Stuck means: a durable consumer's oldest unfinished message is older than the threshold, a
machine serves an older generation than S3 (or does not answer), the dead-letter stream is not
empty, or a request has been processing without change for longer than the threshold.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from showcase_common import subjects
from showcase_common.fleet_control import KvFleetControl, PauseState
from showcase_common.fleet_status import (
    FleetFileError,
    MachineStatus,
    PinView,
    load_machines,
    machine_problem,
    machine_statuses,
    update_config_statuses,
)
from showcase_common.progress import RequestProgress

from showcasectl.config import CtlSettings
from showcasectl.fleet import last_updates
from showcasectl.state import all_states


@dataclass
class StreamStatus:
    name: str
    messages: int
    bytes: int
    first_seq: int
    last_seq: int


@dataclass
class ConsumerStatus:
    stream: str
    name: str
    subjects: list[str]
    pending: int
    ack_pending: int
    redelivered: int
    oldest_age_s: float | None
    stuck: bool = False


@dataclass
class Status:
    streams: list[StreamStatus] = field(default_factory=list)
    consumers: list[ConsumerStatus] = field(default_factory=list)
    s3_generation: int | None = None
    machines: list[MachineStatus] = field(default_factory=list)
    failed: list[RequestProgress] = field(default_factory=list)
    stuck_requests: list[RequestProgress] = field(default_factory=list)
    dead_letters: int = 0
    pin: PinView | None = None
    """The rollback's pin in S3's pointer (None: not pinned)."""
    pause: PauseState | None = None
    """Roll-outs paused by the operators (not a problem: requests wait on purpose)."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "streams": [asdict(s) for s in self.streams],
            "consumers": [asdict(c) for c in self.consumers],
            "paused": self.pause is not None,
            "pause": self.pause.model_dump(mode="json") if self.pause else None,
            "s3_generation": self.s3_generation,
            "pinned": self.pin is not None,
            "pin": self.pin.as_json() if self.pin else None,
            "machines": [m.as_json() for m in self.machines],
            "dead_letters": self.dead_letters,
            "failed_requests": [r.model_dump(mode="json") for r in self.failed],
            "stuck_requests": [r.model_dump(mode="json") for r in self.stuck_requests],
        }


async def collect(js: JetStreamContext, settings: CtlSettings) -> Status:
    status = Status()
    now = dt.datetime.now(dt.UTC)
    await _streams(js, status)
    status.pause = await KvFleetControl(js).pause_state()
    await _consumers(js, status, now, settings.stuck_after_s)
    await _s3(status, settings)
    await _machines(js, status, settings)
    await _requests(js, status, now, settings.stuck_after_s)
    return status


async def _streams(js: JetStreamContext, status: Status) -> None:
    for name in (subjects.STREAM, subjects.DEAD_LETTER_STREAM):
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            status.problems.append(f"stream {name} does not exist")
            continue
        s = info.state
        status.streams.append(StreamStatus(name, s.messages, s.bytes, s.first_seq, s.last_seq))
        if name == subjects.DEAD_LETTER_STREAM and s.messages:
            status.dead_letters = s.messages
            status.problems.append(f"{s.messages} dead letter(s): see `showcasectl dlq list`")


async def _consumers(
    js: JetStreamContext, status: Status, now: dt.datetime, stuck_after_s: float
) -> None:
    if not any(s.name == subjects.STREAM for s in status.streams):
        return
    for info in await js.consumers_info(subjects.STREAM):
        if not info.config.durable_name:  # ephemeral readers (like this tool) have no backlog
            continue
        filters = info.config.filter_subjects or [info.config.filter_subject or ">"]
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        unfinished = (info.num_pending or 0) + (info.num_ack_pending or 0)
        oldest = await _oldest_after(js, floor, filters) if unfinished else None
        age = (now - oldest).total_seconds() if oldest else None
        consumer = ConsumerStatus(
            subjects.STREAM,
            info.name,
            list(filters),
            info.num_pending or 0,
            info.num_ack_pending or 0,
            info.num_redelivered or 0,
            round(age, 1) if age is not None else None,
            # A paused fleet holds the updater's roll-outs on purpose: waiting, not stuck.
            stuck=age is not None
            and age > stuck_after_s
            and not (status.pause is not None and info.name == subjects.MACHINE_UPDATER_DURABLE),
        )
        status.consumers.append(consumer)
        if consumer.stuck:
            status.problems.append(
                f"consumer {info.name}: {unfinished} unfinished, oldest {age:.0f}s old"
            )


async def _oldest_after(js: JetStreamContext, floor: int, filters: list[str]) -> dt.datetime | None:
    """The time of the first message past the ack floor that the consumer's filters match."""
    times = []
    for subject in filters:
        try:
            raw = await js.get_msg(subjects.STREAM, seq=floor + 1, subject=subject, next=True)
        except NotFoundError:
            continue
        if raw.time:
            times.append(raw.time)
    return min(times, default=None)


async def _s3(status: Status, settings: CtlSettings) -> None:
    def latest() -> tuple[int | None, PinView | None]:
        # Imported here: boto3 is slow to import and only `status` needs it.
        from showcase_common.snapshots import S3SnapshotStore, make_s3_client

        store = S3SnapshotStore(make_s3_client(settings), settings.s3_bucket, settings.s3_prefix)
        pointer, _ = store.read_pointer()
        if pointer is None:
            return None, None
        pin = pointer.pin
        return pointer.generation, None if pin is None else PinView(
            pin.snapshot.generation, pin.hold, pin.by, pin.reason, pin.at.isoformat()
        )

    try:
        status.s3_generation, status.pin = await asyncio.to_thread(latest)
    except Exception as exc:  # any store failure is a finding, not a crash
        status.problems.append(f"S3 snapshot pointer unreadable: {exc}")


async def _machines(js: JetStreamContext, status: Status, settings: CtlSettings) -> None:
    try:
        machines = await load_machines(settings)
    except FleetFileError as exc:
        status.problems.append(str(exc))
        return
    agents = [m for m in machines if m.protocol != "update_config"]
    cgi = [m for m in machines if m.protocol == "update_config"]
    status.machines = await machine_statuses(agents, timeout_s=settings.agent_timeout_s)
    if cgi:
        updates = await last_updates(js)
        status.machines += await update_config_statuses(
            cgi, updates, timeout_s=settings.agent_timeout_s
        )
    for m in status.machines:
        problem = machine_problem(
            m, newest=status.s3_generation, pin=status.pin, paused=status.pause is not None
        )
        if problem:
            status.problems.append(problem)


async def _requests(
    js: JetStreamContext, status: Status, now: dt.datetime, stuck_after_s: float
) -> None:
    for state in await all_states(js):
        if state.status == "failed":
            status.failed.append(state)
        elif state.status == "processing" and _age_s(state, now) > stuck_after_s:
            status.stuck_requests.append(state)
            status.problems.append(
                f"request {state.request_id} stuck at {state.progress} % ({state.step})"
            )


def _age_s(state: RequestProgress, now: dt.datetime) -> float:
    if not state.updated_at:
        return 0.0
    try:
        updated = dt.datetime.fromisoformat(state.updated_at.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=dt.UTC)
    return (now - updated).total_seconds()
