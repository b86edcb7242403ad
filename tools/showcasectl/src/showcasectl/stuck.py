"""The stuck watch: a request with no progress for `STUCK_AFTER_S` is failed (or only reported).

Part of `showcasectl alerts run`, beside the admin alerts:

- a durable consumer (`stuck-watch`) on every step event folds each request's last progress into
  KV `stuck_watch` (`observe`, pure): its step and when it last moved; a finished request
  (completed, or failed by its step) is forgotten, a retry starts a new stretch;
- a timer (`StuckWatch.run`, every `STUCK_CHECK_INTERVAL_S`) decides which requests are stuck
  (`stuck_at`, pure) and publishes one `RequestStuck` for each. `STUCK_POLICY=fail` (the default)
  fails it: the progress gateway shows the studio that it stopped, with Retry; `alert` leaves it
  running. Either way the admin alerts mail the admins once (their ledger, `admin_alerts`).

Not stuck: anything while the operators hold roll-outs (a pause, or a pin hold: requests wait on
purpose), and after the hold is lifted each clock restarts at that moment
(`FleetControl.lifted_at`). The timer decides only once the watch has read every event
(no backlog), so a watch coming back from a restart never mistakes its own lag for a stuck
request; an event re-published long after it happened (`replay --since`, `dlq retry`) starts
no watch, so a replayed range that ends before its requests' outcomes alarms nobody. Each `RequestStuck` has the `Nats-Msg-Id` `stuck:<request>:<last seq>`, and the watch
records it when it reads it back: a tick repeated, a restart or a replay announces nothing twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from nats.js.client import JetStreamContext
from nats.js.errors import (
    InvalidKeyError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NoKeysError,
)
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict
from showcase_common import events, subjects
from showcase_common.backoff import wait_unless_stopped
from showcase_common.bus import ConsumerOptions, ConsumerSpec, Delivery, RetryableError
from showcase_common.bus.publisher import EventPublisher
from showcase_common.fleet_control import FleetControl
from showcase_common.topology import PROJECTED_EVENTS

log = logging.getLogger(__name__)

Policy = Literal["fail", "alert"]


# --- the projection (pure) ---------------------------------------------------------------------


class Watched(BaseModel):
    """One unfinished request, as the bucket keeps it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    request: events.RequestRef
    step: events.StuckStep
    last_progress_at: dt.datetime
    seq: int
    """Stream sequence of the last event applied (older ones are ignored)."""
    reported: bool = False
    """A `RequestStuck` was read for this stretch: it is not announced again until a retry."""


FORGET: Literal["forget"] = "forget"
"""`observe`'s answer when the request is finished: drop it from the watch."""

_FINISHED = (events.FleetUpdated, events.IndexSyncFailed, events.FleetUpdateFailed)
_RETRIES = (events.RetryRequested, events.MachinesRetryRequested)


def _step(event: events.Event) -> events.StuckStep:
    match event:
        case events.ShowcaseCreated() | events.IndexPreparing() | events.IndexSyncRetrying():
            return "syncing"
        case events.RetryRequested(from_step="sync"):
            return "syncing"
        case events.RolloutPaused():
            return "queued"
    return "updating"


def observe(
    current: Watched | None, event: events.Event, ref: events.RequestRef, seq: int
) -> Watched | Literal["forget"] | None:
    """The request's next watch entry, `FORGET` when it finished, None when nothing changes."""
    if current is not None and seq <= current.seq:
        return None  # a redelivery, or an older event read late
    if isinstance(event, _FINISHED):
        return FORGET if current is not None else None
    if isinstance(event, events.RequestStuck):
        return (
            None if current is None else current.model_copy(update={"reported": True, "seq": seq})
        )
    # Any other step moves it (a request whose start the watch did not see is watched from here).
    return Watched(
        request=ref,
        step=_step(event),
        last_progress_at=event.occurred_at,
        seq=seq,
        # a retry starts a new stretch; any other late step keeps what was announced
        reported=False if isinstance(event, _RETRIES) or current is None else current.reported,
    )


@dataclass(frozen=True)
class Hold:
    """The operators' hold on roll-outs, as one check of the watch sees it."""

    held: bool
    """Paused, or a pin holds newer generations back: nothing is stuck meanwhile."""
    lifted_at: dt.datetime | None = None
    """When the last hold ended: every clock restarts there."""


def stuck_at(
    watched: Iterable[Watched], now: dt.datetime, after_s: float, hold: Hold
) -> list[Watched]:
    """The requests stuck at `now`: no progress for more than `after_s` seconds, counted from the
    end of the last hold when that is later, and not reported yet. None while held."""
    if hold.held:
        return []
    stuck = []
    for w in watched:
        since = max(w.last_progress_at, hold.lifted_at) if hold.lifted_at else w.last_progress_at
        if not w.reported and (now - since).total_seconds() > after_s:
            stuck.append(w)
    return sorted(stuck, key=lambda w: w.last_progress_at)


# --- ports -------------------------------------------------------------------------------------


class StaleEntry(Exception):
    """The entry changed since it was read: read it again."""


class WatchBook(Protocol):
    """Where the watch keeps its entries; `KvWatchBook` is the adapter."""

    async def read(self, request_id: str) -> tuple[Watched, int] | None:
        """The entry and its revision, None when the request is not watched."""

    async def write(self, entry: Watched, revision: int | None) -> None:
        """Store it if the key is still at `revision` (None: absent); else `StaleEntry`."""

    async def forget(self, request_id: str, revision: int) -> None:
        """Drop it if the key is still at `revision`; else `StaleEntry`."""

    async def entries(self) -> list[Watched]:
        """Every request watched now."""

    async def backlog(self) -> int:
        """Events the watch's consumer has not settled yet (0: it has read everything)."""


class KvWatchBook:
    """The `stuck_watch` bucket (key: request id), and the backlog of the `stuck-watch` durable."""

    def __init__(
        self, bucket: Callable[[], KeyValue], jetstream: Callable[[], JetStreamContext]
    ) -> None:
        self._bucket, self._jetstream = bucket, jetstream

    async def read(self, request_id: str) -> tuple[Watched, int] | None:
        try:
            entry = await self._bucket().get(request_id)
        except (KeyNotFoundError, KeyDeletedError, InvalidKeyError):
            return None
        if not entry.value:
            return None
        try:
            return Watched.model_validate_json(entry.value), entry.revision or 0
        except ValueError as exc:  # not the watch's (written by hand): never block the others
            log.warning(
                "stuck watch: dropping entry %r that is not one of ours: %s", request_id, exc
            )
            await self._bucket().delete(request_id)
            return None

    async def write(self, entry: Watched, revision: int | None) -> None:
        kv, value = self._bucket(), entry.model_dump_json().encode()
        try:
            if revision is None:
                await kv.create(entry.request.request_id, value)
            else:
                await kv.update(entry.request.request_id, value, last=revision)
        except KeyWrongLastSequenceError as exc:
            raise StaleEntry(entry.request.request_id) from exc
        except Exception as exc:
            if "wrong last sequence" in str(exc):  # create() reports a race this way
                raise StaleEntry(entry.request.request_id) from exc
            raise

    async def forget(self, request_id: str, revision: int) -> None:
        try:
            await self._bucket().delete(request_id, last=revision)
        except KeyWrongLastSequenceError as exc:
            raise StaleEntry(request_id) from exc

    async def entries(self) -> list[Watched]:
        kv = self._bucket()
        try:
            keys = await kv.keys()
        except NoKeysError:
            return []
        found = []
        for key in keys:
            if (read := await self.read(key)) is not None:
                found.append(read[0])
        return found

    async def backlog(self) -> int:
        info = await self._jetstream().consumer_info(subjects.STREAM, subjects.STUCK_WATCH_DURABLE)
        return (info.num_pending or 0) + (info.num_ack_pending or 0)


# --- the watch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchSettings:
    after_s: float = 300.0
    policy: Policy = "fail"
    check_interval_s: float = 10.0
    max_age_s: float = 24 * 3600.0
    """Events older than this start no watch (a new durable reads the whole stream)."""


@dataclass(frozen=True)
class Check:
    """What one check saw and did (for the log, and for tests that await a decision)."""

    at: dt.datetime
    held: bool
    skipped: str | None = None
    """Why no decision was made (a backlog, the bus away), else None."""
    announced: tuple[str, ...] = ()


MAX_CAS_ATTEMPTS = 20


class StuckWatch:
    """The handler (`handle`) that keeps the watch, and the timer (`run`) that announces."""

    def __init__(
        self,
        book: WatchBook,
        publisher: EventPublisher,
        control: FleetControl,
        settings: WatchSettings,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._book, self._publisher, self._control = book, publisher, control
        self.settings = settings
        self._clock = clock
        self.last_check: Check | None = None
        self.checked = asyncio.Condition()
        """Notified after every check (tests wait on it instead of sleeping)."""

    async def handle(self, delivery: Delivery) -> None:
        event = delivery.event
        fresh = (self._clock() - event.occurred_at).total_seconds() <= self.settings.max_age_s
        fresh = fresh and not self._republished(delivery)
        for ref in events.request_refs(event):
            await self._observe(event, ref, delivery.stream_seq, fresh)

    def _republished(self, delivery: Delivery) -> bool:
        """Stored on the stream long (more than the threshold) after it happened: a replay or a
        dead letter retried, whose request most likely finished long ago. It moves a request
        the watch follows, but starts no watch (which would be stuck on arrival: a false alarm
        whenever a replayed range ends before the request's outcome)."""
        try:
            stored = delivery.msg.metadata.timestamp
        except Exception:  # no JetStream envelope: nothing says it was re-published
            return False
        return (stored - delivery.event.occurred_at).total_seconds() > self.settings.after_s

    async def _observe(
        self, event: events.Event, ref: events.RequestRef, seq: int, fresh: bool
    ) -> None:
        for _ in range(MAX_CAS_ATTEMPTS):
            stored = await self._book.read(ref.request_id)
            current, revision = stored if stored else (None, None)
            if current is None and not fresh:
                return  # too old to watch: a first start reads the stream from its beginning
            nxt = observe(current, event, ref, seq)
            try:
                if nxt is None:
                    return
                if nxt == FORGET:
                    assert revision is not None
                    await self._book.forget(ref.request_id, revision)
                else:
                    await self._book.write(nxt, revision)
            except StaleEntry:
                continue  # the other replica's write: read again
            return
        raise RetryableError(f"request {ref.request_id}: too much write contention", delay_s=0.5)

    async def check(self) -> Check:
        """One look: announce every stuck request (none while held, none with a backlog)."""
        now = self._clock()
        try:
            result = await self._check(now)
        except Exception as exc:  # the bus away: decide nothing on a guess, look again later
            log.warning("stuck watch: cannot check now (%s)", exc)
            result = Check(now, held=False, skipped=f"unavailable: {exc}")
        self.last_check = result
        async with self.checked:
            self.checked.notify_all()
        return result

    async def _check(self, now: dt.datetime) -> Check:
        if backlog := await self._book.backlog():
            return Check(now, held=False, skipped=f"{backlog} event(s) not read yet")
        paused = await self._control.pause_state()
        pinned = await self._control.pin_hold()
        hold = Hold(paused is not None or pinned is not None, await self._control.lifted_at())
        stuck = stuck_at(await self._book.entries(), now, self.settings.after_s, hold)
        for w in stuck:
            await self._announce(w, now)
        return Check(now, hold.held, announced=tuple(w.request.request_id for w in stuck))

    async def _announce(self, w: Watched, now: dt.datetime) -> None:
        fails = self.settings.policy == "fail"
        idle = (now - w.last_progress_at).total_seconds()
        log.warning(
            "request %s stuck: no progress for %.0fs while %s; %s",
            w.request.request_id,
            idle,
            w.step,
            "failing it" if fails else "alerting only (STUCK_POLICY=alert)",
        )
        await self._publisher.publish(
            events.RequestStuck(
                requests=[w.request],
                step=w.step,
                last_progress_at=w.last_progress_at,
                stuck_after_s=self.settings.after_s,
                fails=fails,
            ),
            msg_id=f"stuck:{w.request.request_id}:{w.seq}",
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Check every `check_interval_s` until `stop` (a runner worker, once NATS is up)."""
        log.info(
            "stuck watch: a request with no progress for %.0fs is %s",
            self.settings.after_s,
            "failed" if self.settings.policy == "fail" else "reported to the admins",
        )
        while not stop.is_set():
            # first a wait: the consumer declares its durable meanwhile (no warning at start)
            await wait_unless_stopped(stop, self.settings.check_interval_s)
            if not stop.is_set():
                await self.check()


def stuck_watch_consumer(watch: StuckWatch, *, options: ConsumerOptions) -> ConsumerSpec:
    """Every step event a request's progress is made of (the gateway's), one handler."""
    events_watched: Sequence[type[events.Event]] = PROJECTED_EVENTS
    return ConsumerSpec(
        subjects.STUCK_WATCH_DURABLE,
        handles=dict.fromkeys(events_watched, watch.handle),
        options=options,
    )
