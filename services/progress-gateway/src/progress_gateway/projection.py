"""Step events → a request's progress: the pure translation (no I/O).

Rules, so that several replicas and redeliveries always agree:
- events are applied in stream order: an event older (lower stream sequence) than the last one
  applied to a request is ignored, so a redelivery or a slow replica never rolls a request back;
- `progress` never decreases, stays below 100 until completion, and is 100 exactly when completed;
- `completed` is terminal;
- a failure keeps the progress, sets `error`, `retry_url`, `failed_step` and `failed_machines`
  (what the intake retry endpoint re-drives);
- what the studio reads is written in `wording`, from the events' facts and reason codes, naming
  the machines that failed but never an event's `error` (technical detail: exception messages,
  paths, hosts), which stays in the event and the publishing service's log;
  `redirect_url`/`retry_url` are only http(s) on the public origins.
- a retry (`RetryRequested`, `MachinesRetryRequested`) clears the failure and goes back to
  processing without lowering the progress;
- a request failed as stuck (`RequestStuck` with `fails`: no progress for `STUCK_AFTER_S`) stays
  failed through any late step event; only its real outcome changes it (a late `FleetUpdated`
  makes it completed, since the showcase is live; a late failure keeps it failed, with that
  failure's own words and machines) or a retry (`AFTER_STUCK`).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from statistics import median

from showcase_common import events
from showcase_common.progress import RequestProgress
from showcase_common.urls import allowed_url

from progress_gateway import wording

SYNCED_PROGRESS = 30
CREATED_PROGRESS = 10
MACHINES_SPAN = 65
"""Machines move the bar from 30 to 95; only `FleetUpdated` reaches 100."""


class ProjectedProgress(RequestProgress):
    """What the bucket holds: the contract's message plus the projector's bookkeeping.

    Readers that parse it as `RequestProgress` (intake) ignore the extra fields.
    """

    seq: int = 0
    """Stream sequence of the last event applied."""
    rollout_started_at: str | None = None
    """Start of the current machine roll-out on the updater's clock (for the time left)."""
    sync_started_at: str | None = None
    """When the current sync step began (created, or a sync retry): its duration is learned."""
    stuck: bool = False
    """Failed by the stuck watch: late step events no longer move it (`AFTER_STUCK`)."""

    def public(self) -> dict[str, object]:
        return self.model_dump(
            mode="json", exclude={"user", "seq", "rollout_started_at", "sync_started_at", "stuck"}
        )


@dataclass
class RecentDurations:
    """How long the last few syncs and roll-outs took (per step), for an estimate from the first
    message on. Kept by the projector in memory: a restarted gateway starts from the defaults
    and learns again within a few requests."""

    keep: int = 20
    default_sync_s: float = 1.0
    default_rollout_s: float = 2.0
    sync: deque[float] = field(default_factory=deque)
    rollout: deque[float] = field(default_factory=deque)

    def learn(self, step: str, seconds: float) -> None:
        samples = self.sync if step == "sync" else self.rollout
        samples.append(max(0.0, seconds))
        while len(samples) > self.keep:
            samples.popleft()

    @property
    def sync_s(self) -> float:
        return median(self.sync) if self.sync else self.default_sync_s

    @property
    def rollout_s(self) -> float:
        return median(self.rollout) if self.rollout else self.default_rollout_s


def observed(current: ProjectedProgress | None, event: events.Event) -> tuple[str, float] | None:
    """The step duration an event reveals, if any: a sync (its start to IndexSynced) or a whole
    roll-out (FleetUpdated's own duration)."""
    if isinstance(event, events.FleetUpdated):
        return "rollout", event.duration_s
    if isinstance(event, events.IndexSynced) and current and current.sync_started_at:
        started = dt.datetime.fromisoformat(current.sync_started_at)
        return "sync", (event.occurred_at - started).total_seconds()
    return None


@dataclass(frozen=True)
class Links:
    """The URLs the studio's browser is given: only http(s) on the public origins of intake and
    the fleet; anything else (`javascript:`, `data:`, another site) becomes None."""

    public_intake_url: str
    public_fleet_url: str = ""

    def retry_url(self, request_id: str) -> str | None:
        url = f"{self.public_intake_url.rstrip('/')}/api/requests/{request_id}/retry"
        return allowed_url(url, [self.public_intake_url])

    def redirect_url(self, url: str) -> str | None:
        return allowed_url(url, [self.public_fleet_url, self.public_intake_url])


PROJECTED: tuple[type[events.Event], ...] = (
    events.ShowcaseCreated,
    events.RetryRequested,
    events.MachinesRetryRequested,
    events.IndexSynced,
    events.IndexSyncRetrying,
    events.IndexPreparing,
    events.IndexSyncFailed,
    events.MachineUpdated,
    events.MachineUpdateFailed,
    events.FleetUpdated,
    events.FleetUpdateFailed,
    events.RolloutPaused,
    events.RolloutResumed,
    events.CanaryStarted,
    events.RequestStuck,
)
"""The events a request's progress is folded from (`_changes` has a case for each)."""

AFTER_STUCK: tuple[type[events.Event], ...] = (
    events.FleetUpdated,
    events.FleetUpdateFailed,
    events.IndexSyncFailed,
    events.RetryRequested,
    events.MachinesRetryRequested,
)
"""What still changes a request failed as stuck: its real outcome, or a retry. Any other late
step is ignored, so the studio's failure does not flicker back to "processing"."""


def apply(
    state: ProjectedProgress | None,
    event: events.Event,
    ref: events.RequestRef,
    seq: int,
    links: Links,
    durations: RecentDurations | None = None,
) -> ProjectedProgress | None:
    """The request's next state, or None when the event changes nothing. `durations` (recent
    syncs and roll-outs) give the time left from the first message on."""
    current = state or ProjectedProgress(request_id=ref.request_id, user=ref.user)
    if state is not None and (state.status == "completed" or seq <= state.seq):
        return None
    if state is not None and state.stuck and not isinstance(event, AFTER_STUCK):
        return None
    changes = _changes(current, event, ref, links)
    if changes is None:
        return None
    nxt = current.model_copy(update=changes)
    nxt.progress = _monotonic(current.progress, nxt.progress, nxt.status)
    nxt.seq = seq
    nxt.user = current.user or ref.user
    nxt.updated_at = event.occurred_at.isoformat()
    if isinstance(event, events.ShowcaseCreated | events.RetryRequested):
        nxt.sync_started_at = event.occurred_at.isoformat()
    nxt.eta_seconds = _time_left(nxt, event, durations or RecentDurations())
    return nxt


def _time_left(
    state: ProjectedProgress, event: events.Event, durations: RecentDurations
) -> float | None:
    """About how long until the showcase is live: the usual sync and roll-out while they have
    not started, the usual roll-out less the time it has run, refined by the machines' pace."""
    if state.status != "processing":
        return None
    if state.step == "syncing":
        return round(durations.sync_s + durations.rollout_s, 1)
    if isinstance(event, events.MachineUpdated) and state.rollout_started_at:
        started = dt.datetime.fromisoformat(state.rollout_started_at)
        elapsed = max(0.0, (event.occurred_at - started).total_seconds())
        usual_left = durations.rollout_s - elapsed
        return round(usual_left if usual_left > 0 else _eta(started, event), 1)
    if isinstance(event, events.MachineUpdateFailed):
        return state.eta_seconds
    return round(durations.rollout_s, 1)


def _monotonic(before: int, after: int, status: str) -> int:
    if status == "completed":
        return 100
    return min(99, max(before, after))


_CLEAR_FAILURE: dict[str, object] = {
    "error": None,
    "retry_url": None,
    "failed_machines": [],
    "failed_step": None,
    "stuck": False,
}


def _changes(
    current: ProjectedProgress, event: events.Event, ref: events.RequestRef, links: Links
) -> dict[str, object] | None:
    match event:
        case events.ShowcaseCreated():
            return _processing(CREATED_PROGRESS, "syncing", wording.CREATED)
        case events.RetryRequested(from_step="sync"):
            return _processing(0, "syncing", wording.RETRYING_SYNC)
        case events.RetryRequested() | events.MachinesRetryRequested():
            # (RetryRequested from the machines step: events from before MachinesRetryRequested.)
            return _processing(0, "updating", wording.RETRYING_MACHINES)
        case events.IndexPreparing():
            message = wording.preparing(event.step, event.steps, event.name)
            return _processing(CREATED_PROGRESS, "syncing", message)
        case events.IndexSyncRetrying():
            message = wording.sync_retrying(event.attempt, event.max_attempts)
            return _processing(CREATED_PROGRESS, "syncing", message)
        case events.IndexSynced():
            return {
                **_processing(SYNCED_PROGRESS, "updating", wording.SYNCED),
                "rollout_started_at": None,
            }
        case events.RolloutPaused():
            # Visibly queued: saved, waiting for the operators; the bar keeps where it was.
            return {**_processing(0, "queued", wording.PAUSED), "status": "queued"}
        case events.CanaryStarted():
            return _processing(SYNCED_PROGRESS, "updating", wording.canary_started(event.region))
        case events.RolloutResumed():
            return _processing(SYNCED_PROGRESS, "updating", wording.RESUMED)
        case events.MachineUpdated():
            return _machine_updated(current, event, ref)
        case events.MachineUpdateFailed():
            return _machine_failed(event, ref)
        case events.FleetUpdated():
            return {
                "status": "completed",
                "step": "done",
                "message": wording.LIVE,
                "redirect_url": links.redirect_url(ref.redirect_url),
                "eta_seconds": None,
                **_CLEAR_FAILURE,
            }
        case events.IndexSyncFailed():
            return _failed(
                wording.sync_failed(event.reason),
                "sync",
                [],
                ref.request_id,
                links,
            )
        case events.RequestStuck(fails=True):
            # A retry re-drives the step it stopped at: the sync, or every machine behind.
            step = "machines" if event.step == "updating" else "sync"
            return {
                **_failed(wording.stuck(event.stuck_after_s), step, [], ref.request_id, links),
                "message": wording.STUCK,
                "stuck": True,
            }
        case events.FleetUpdateFailed(halted_by_canary=True):
            # A retry must reach the untouched machines too, so they count as failed here.
            return _failed(
                wording.canary_failed(event.failures, event.untouched),
                "machines",
                [*(f.machine_id for f in event.failures), *event.untouched],
                ref.request_id,
                links,
            )
        case events.FleetUpdateFailed():
            return _failed(
                wording.fleet_failed(event.failures, event.updated, ref.regions),
                "machines",
                [f.machine_id for f in event.failures],
                ref.request_id,
                links,
            )
    return None


def _processing(progress: int, step: str, message: str) -> dict[str, object]:
    return {
        "status": "processing",
        "progress": progress,
        "step": step,
        "message": message,
        **_CLEAR_FAILURE,
    }


def _machine_progress(done: int, total: int) -> int:
    return SYNCED_PROGRESS + (MACHINES_SPAN * done) // max(total, 1)


def _machine_updated(
    current: ProjectedProgress, event: events.MachineUpdated, ref: events.RequestRef
) -> dict[str, object]:
    started = _rollout_start(current, event)
    return {
        **_processing(
            _machine_progress(event.done, event.total),
            "updating",
            wording.canary_updated(event.region, event.total)
            if event.canary
            else wording.machine_updated(
                event.done,
                event.total,
                event.region,
                event.handed_on.get(ref.showcase.path),
                ref.regions,
            ),
        ),
        "rollout_started_at": started.isoformat(),
    }


def _machine_failed(event: events.MachineUpdateFailed, ref: events.RequestRef) -> dict[str, object]:
    # One machine failing does not end the roll-out; the fleet verdict comes later.
    return _processing(
        _machine_progress(event.done, event.total),
        "updating",
        wording.machine_failed(
            event.machine_id, event.region, event.reason, event.done, event.total, ref.regions
        ),
    )


def _rollout_start(current: ProjectedProgress, event: events.MachineUpdated) -> dt.datetime:
    """The earliest start seen: each machine's finish minus its duration (one clock: the updater's)."""
    this_start = event.occurred_at - dt.timedelta(seconds=event.duration_s)
    if current.rollout_started_at is None:
        return this_start
    return min(this_start, dt.datetime.fromisoformat(current.rollout_started_at))


def _eta(started: dt.datetime, event: events.MachineUpdated) -> float:
    """Time left at the pace so far (machines roll in parallel, so elapsed/done, not a sum)."""
    elapsed = max(0.0, (event.occurred_at - started).total_seconds())
    remaining = max(0, event.total - event.done)
    return round(elapsed / max(event.done, 1) * remaining, 1)


def _failed(
    error: str, step: str, machines: list[str], request_id: str, links: Links
) -> dict[str, object]:
    return {
        "status": "failed",
        "step": "failed",
        "message": wording.FAILED_ON_MACHINES if step == "machines" else wording.FAILED,
        "error": error,
        "retry_url": links.retry_url(request_id),
        "failed_step": step,
        "failed_machines": machines,
        "eta_seconds": None,
        "stuck": False,
    }
