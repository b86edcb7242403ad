"""A request's story from the stream: which events, when, and how long each step took."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from nats.js.client import JetStreamContext
from showcase_common import events, subjects
from showcase_common.progress import duration_words

from showcasectl.stream_reader import Start, StoredMsg, scan


def request_ids(event: events.Event) -> list[str]:
    """The requests an event concerns: `request` on the first two, `requests` on the rest."""
    request = getattr(event, "request", None)
    if isinstance(request, events.RequestRef):
        return [request.request_id]
    return [r.request_id for r in getattr(event, "requests", [])]


def summary(event: events.Event | None) -> str:
    """One line that says what the event means to an operator."""
    match event:
        case None:
            return "(undecodable)"
        case events.ShowcaseCreated(request=r):
            return f"{r.showcase.name} ({r.showcase.path}) by {r.user}"
        case events.RetryRequested(from_step=step, machine_ids=ids):
            return f"retry from {step}" + (f" on {', '.join(ids)}" if ids else "")
        case events.MachinesRetryRequested(machine_ids=ids):
            return "retry the machines" + (f" {', '.join(ids)}" if ids else "")
        case events.RolloutRequested(requested_by=who):
            return f"roll-out requested by {who}"
        case events.IndexSynced(snapshot=s, machine_ids=ids):
            return f"generation {s.generation}" + (f" for {', '.join(ids)}" if ids else "")
        case events.IndexSyncRetrying(attempt=k, max_attempts=n, reason=reason, error=err):
            return f"sync retrying ({k} of {n}), {reason}" + (f": {err}" if err else "")
        case events.IndexPreparing(step=k, steps=n, name=name):
            return f"preparing the index ({k} of {n}): {name}"
        case events.MachineUpdated(
            machine_id=m, region=region, done=k, total=n, duration_s=d, handed_on=handed
        ):
            hands = f", hands on to {', '.join(sorted(set(handed.values())))}" if handed else ""
            return f"{m} ({region}) {k}/{n} in {d:.1f}s{hands}"
        case events.MachineUpdateFailed(machine_id=m, done=k, total=n, reason=reason, error=err):
            return f"{m} {k}/{n} failed ({reason}): {err}"
        case events.FleetUpdated(generation=g, machine_ids=ids, skipped=skipped):
            extra = f", skipped {', '.join(skipped)}" if skipped else ""
            return f"generation {g} on {len(ids)} machines{extra}"
        case events.FleetUpdateFailed(generation=g, failures=failures):
            return f"generation {g} failed on {', '.join(f.machine_id for f in failures)}"
        case events.IndexSyncFailed(reason=reason, error=err):
            return f"sync failed ({reason}): {err}"
        case events.RequestStuck(step=step, stuck_after_s=after, fails=fails):
            done = "failed" if fails else "alerted only"
            return f"stuck: no progress for {duration_words(after)} while {step}; {done}"
    return type(event).__name__


@dataclass
class EventRow:
    seq: int
    time: dt.datetime
    subject: str
    type: str
    request_ids: list[str]
    summary: str
    since_previous_s: float | None
    since_first_s: float

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "subject": self.subject,
            "type": self.type,
            "request_ids": self.request_ids,
            "summary": self.summary,
            "since_previous_s": _round(self.since_previous_s),
            "since_first_s": _round(self.since_first_s),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def row(msg: StoredMsg, previous: dt.datetime | None, first: dt.datetime) -> EventRow:
    event = msg.event()
    return EventRow(
        seq=msg.seq,
        subject=msg.subject,
        time=msg.time,
        type=type(event).__name__ if event else "?",
        request_ids=request_ids(event) if event else [],
        summary=summary(event),
        since_previous_s=(msg.time - previous).total_seconds() if previous else None,
        since_first_s=(msg.time - first).total_seconds(),
    )


def timeline(msgs: Iterable[StoredMsg]) -> list[EventRow]:
    """Rows with the time each step took (since the previous event) and since the first."""
    rows: list[EventRow] = []
    for msg in msgs:
        first = rows[0].time if rows else msg.time
        rows.append(row(msg, rows[-1].time if rows else None, first))
    return rows


def concerns(msg: StoredMsg, request_id: str) -> bool:
    event = msg.event()
    return event is not None and request_id in request_ids(event)


async def request_messages(js: JetStreamContext, request_id: str) -> list[StoredMsg]:
    """Every stored event that names the request, oldest first (a full scan of the stream)."""
    return [
        msg
        async for msg in scan(js, subjects.STREAM, [subjects.ALL_SUBJECTS])
        if concerns(msg, request_id)
    ]


async def stream_rows(
    js: JetStreamContext, start: Start, subject: str, *, follow: bool
) -> AsyncIterator[EventRow]:
    """The stream's events from `start` as rows, each step timed from the one before."""
    previous: dt.datetime | None = None
    first: dt.datetime | None = None
    async for msg in scan(js, subjects.STREAM, [subject], start, follow=follow):
        first = first or msg.time
        yield row(msg, previous, first)
        previous = msg.time
