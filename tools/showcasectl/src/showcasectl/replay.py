"""Re-driving the pipeline without doing anything twice.

Two kinds of replay, both safe by construction:
- one request: publish `RetryRequested` (from the sync step: the syncer acts on it) or
  `MachinesRetryRequested` (the updater re-rolls the newest snapshot out) for it; its `RequestRef`
  comes from its `ShowcaseCreated` in the stream;
- a range: re-publish stored facts to their own subjects with their ORIGINAL `Nats-Msg-Id`.
  Inside the stream's duplicate window JetStream drops them; outside it the consumers are
  idempotent (the syncer's ledger knows which generation covered a request, the updater never
  calls a machine that already serves a generation, progress never goes back).
Neither can create a showcase (intake saves it before the outbox; nothing on the bus creates
one) nor send an e-mail (intake mails admins on their own submissions only; `alerts` keeps a
record per request).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from nats.js.client import JetStreamContext
from showcase_common import events, subjects
from showcase_common.bus import Publisher
from showcase_common.bus.publisher import MSG_ID_HEADER
from showcase_common.progress import RequestProgress

from showcasectl.state import get_state
from showcasectl.stream_reader import Start, StoredMsg, scan

Step = Literal["sync", "machines"]

INTENTS = frozenset(
    {subjects.RETRY_REQUESTED, subjects.MACHINES_RETRY_REQUESTED, subjects.ROLLOUT_REQUESTED}
)
"""Operator or studio intents: re-publishing one would start new work, so ranges skip them."""

_EFFECT = {
    subjects.SHOWCASE_CREATED: "syncer: the ledger already holds the request's generation",
    subjects.INDEX_SYNCED: "machine-updater: machines already at the generation are not called",
}
_NO_EFFECT = "progress projector only: progress never goes back"


class RequestNotFound(LookupError):
    """No ShowcaseCreated in the stream names this request."""


@dataclass
class RequestReplay:
    request_id: str
    from_step: Step | None
    machine_ids: list[str]
    state: RequestProgress | None
    action: Literal["published", "would publish", "nothing to do"]
    reason: str
    seq: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "from_step": self.from_step,
            "machine_ids": self.machine_ids,
            "status": self.state.status if self.state else None,
            "action": self.action,
            "reason": self.reason,
            "seq": self.seq,
        }


async def find_request(js: JetStreamContext, request_id: str) -> events.RequestRef:
    async for msg in scan(js, subjects.STREAM, [subjects.SHOWCASE_CREATED]):
        event = msg.event()
        if isinstance(event, events.ShowcaseCreated) and event.request.request_id == request_id:
            return event.request
    raise RequestNotFound(f"no ShowcaseCreated for request {request_id} in {subjects.STREAM}")


async def replay_request(
    js: JetStreamContext,
    request_id: str,
    from_step: Step | None,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> RequestReplay:
    """Re-drive the request from the step that failed unless told otherwise: a sync through the
    syncer, the machines through the updater."""
    ref = await find_request(js, request_id)
    state = await get_state(js, request_id)
    step: Step = from_step or (state.failed_step if state and state.failed_step else "sync")
    machines = list(state.failed_machines) if state and step == "machines" else []
    result = RequestReplay(request_id, step, machines, state, "would publish", "dry run")
    if state is not None and state.status == "completed" and not force:
        result.action, result.reason = "nothing to do", "already completed (--force re-drives it)"
        return result
    if dry_run:
        return result
    event: events.Event = (
        events.MachinesRetryRequested(request=ref, machine_ids=machines)
        if step == "machines"
        else events.RetryRequested(request=ref, from_step="sync")
    )
    ack = await Publisher(js).publish(event)
    result.action, result.reason, result.seq = "published", type(event).__name__, ack.seq
    return result


@dataclass
class PlannedMsg:
    msg: StoredMsg
    msg_id: str | None
    action: Literal["skip", "deduplicated", "re-delivered"]
    reason: str
    new_seq: int | None = None
    duplicate: bool | None = None

    def as_json(self) -> dict[str, Any]:
        event = self.msg.event()
        return {
            "seq": self.msg.seq,
            "subject": self.msg.subject,
            "type": type(event).__name__ if event else None,
            "time": self.msg.time.isoformat(),
            "msg_id": self.msg_id,
            "action": self.action,
            "reason": self.reason,
            "new_seq": self.new_seq,
            "duplicate": self.duplicate,
        }


@dataclass
class RangeReplay:
    planned: list[PlannedMsg] = field(default_factory=list)
    dry_run: bool = True

    def counts(self) -> dict[str, int]:
        counts = {"skipped": 0, "deduplicated": 0, "re-delivered": 0, "published": 0}
        for p in self.planned:
            counts["skipped" if p.action == "skip" else p.action] += 1
            counts["published"] += bool(p.new_seq and not p.duplicate)
        return counts


def classify(
    msg: StoredMsg, now: dt.datetime, window_s: float, last_stored: dt.datetime | None = None
) -> PlannedMsg:
    """What re-publishing one stored message would do, and why it is harmless.

    `last_stored` is when a message with the same Nats-Msg-Id was last stored (an earlier
    replay's copy): JetStream's window runs from there, not from the original."""
    event = msg.event()
    msg_id = msg.msg_id or (event.event_id if event else None)
    if event is None or msg_id is None:
        return PlannedMsg(msg, msg_id, "skip", "undecodable: see `showcasectl dlq`")
    if msg.subject in INTENTS:
        return PlannedMsg(msg, msg_id, "skip", "an intent: use `replay REQUEST_ID` or `apply`")
    newest = max(msg.time, last_stored or msg.time)
    if (now - newest).total_seconds() < window_s:
        why = "original" if newest == msg.time else "a replayed copy's"
        return PlannedMsg(msg, msg_id, "deduplicated", f"{why} Nats-Msg-Id inside the window")
    return PlannedMsg(msg, msg_id, "re-delivered", _EFFECT.get(msg.subject, _NO_EFFECT))


async def plan_range(
    js: JetStreamContext, subject: str, start: Start, to_seq: int | None
) -> RangeReplay:
    """The messages of the range, each classified; the range ends where the stream ends now.

    The scan goes on past the range to the stream's end: a copy stored there by an earlier
    replay carries the same Nats-Msg-Id, and JetStream de-duplicates against the newest one."""
    info = await js.stream_info(subjects.STREAM)
    last = min(to_seq or info.state.last_seq, info.state.last_seq)
    window_s = float(info.config.duplicate_window or 0)
    now = dt.datetime.now(dt.UTC)
    in_range: list[StoredMsg] = []
    last_stored: dict[str, dt.datetime] = {}
    async for msg in scan(js, subjects.STREAM, [subject], start):
        if msg.seq > info.state.last_seq:
            break
        if msg.msg_id:
            last_stored[msg.msg_id] = msg.time
        if msg.seq <= last:
            in_range.append(msg)
    plan = RangeReplay()
    for msg in in_range:
        newest = last_stored.get(msg.msg_id) if msg.msg_id else None
        plan.planned.append(classify(msg, now, window_s, newest))
    return plan


async def execute(js: JetStreamContext, plan: RangeReplay) -> RangeReplay:
    """Re-publish every planned message (not the skipped) with its original Nats-Msg-Id."""
    plan.dry_run = False
    for planned in plan.planned:
        if planned.action == "skip" or planned.msg_id is None:
            continue
        ack = await js.publish(
            planned.msg.subject, planned.msg.data, headers={MSG_ID_HEADER: planned.msg_id}
        )
        planned.new_seq, planned.duplicate = ack.seq, bool(ack.duplicate)
    return plan
