"""The event types: the contract between services.

Events are small typed records with past-tense names. Each carries `event_id` (used as the
`Nats-Msg-Id`, so a re-publish of the same fact is dropped by JetStream's de-duplication),
`version` (bumped on an incompatible change) and the ids of the requests it concerns, so the
progress gateway can fan one fact out to every request it covers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from showcase_common import subjects

# Bounds on what an event may carry. A value outside them is a validation error, so the message is
# undecodable: a permanent failure the consumer loop dead-letters at once instead of retrying it.
RequestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
"""A request id is a safe token (intake makes uuid4 hex): it is a NATS KV key and a URL segment,
so a `.`, a space or a wildcard in it would make a whole batch fail downstream."""
Generation = Annotated[int, Field(ge=0, lt=10**12)]
"""Snapshot generations count up from 1 and are written with 12 digits in object keys."""
Count = Annotated[int, Field(ge=0, le=100_000)]
"""Machines in a roll-out, attempts: small non-negative numbers."""
Seconds = Annotated[float, Field(ge=0, le=7 * 24 * 3600, allow_inf_nan=False)]
"""A measured duration: finite, non-negative, at most a week."""


FailureReason = Literal[
    "storage_unavailable",
    "snapshot_failed",
    "not_in_index",
    "machine_unreachable",
    "machine_refused",
    "command_failed",
    "timeout",
    "not_serving",
    "unknown",
]
"""Why a step failed, as a code: what the progress projection words for the studio.

- storage_unavailable: the object store could not be reached (by the syncer, or by a machine
  downloading the snapshot);
- snapshot_failed: the index could not be copied consistently;
- not_in_index: the request's showcase was not in the copy of the index;
- machine_unreachable: no connection to the machine;
- machine_refused: the machine refused for good (its secret, a snapshot it will not accept);
- command_failed: the machine's own commands (configuration, prerender) failed;
- timeout: the machine did not answer or finish in time;
- not_serving: the machine answered but does not serve the generation or the showcase's page;
- unknown: anything else, and every failure recorded before the codes existed.
The technical detail (exception text, hosts, paths) travels beside it in `error`: for operators
(`showcasectl events`, the admin alerts), never shown to a studio."""


def _legacy(default: Any) -> Any:
    """A field only events written before a change carry: accepted when decoding (events are
    `extra="forbid"`), left out of what is encoded now."""
    return Field(default=default, exclude_if=lambda value: value is None)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """A fresh random identifier (hex uuid4) for events and requests."""
    return uuid.uuid4().hex


class Event(BaseModel):
    """Base of every event. `subject` is where it is published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: ClassVar[str]
    version: int = 1
    event_id: str = Field(default_factory=new_id)
    occurred_at: dt.datetime = Field(default_factory=_now)


class ShowcaseRef(BaseModel):
    """What the pipeline needs to know of a showcase, without reading the index."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    showcase_id: int
    year: int
    location_key: str
    key: str
    name: str
    page: str | None = None
    """The page's path by the fleet's rule (a lone `showcase` is at its location's year URL),
    as intake computed it; events from before the field name none."""
    region: str | None = None
    """The served region whose machines serve the page (showcases.yml's `:region:` of its
    location); the others answer it with a fly-replay there. None: every machine serves it
    (a location without a region, or an event from before the field)."""

    @property
    def path(self) -> str:
        """The showcase's page on a machine agent."""
        return self.page or f"/showcase/{self.year}/{self.location_key}/{self.key}/"


class RequestRef(BaseModel):
    """A studio's request as it travels through the pipeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: RequestId
    user: str
    showcase: ShowcaseRef
    redirect_url: str
    regions: dict[str, str] = Field(default_factory=dict)
    """Region code → the place's name, from the index's `regions` rows (intake adds them), so
    the studio reads "Chicago", not "ord"; events from before the field name none."""


class ShowcaseCreated(Event):
    subject: ClassVar[str] = subjects.SHOWCASE_CREATED
    request: RequestRef


class RetryRequested(Event):
    """An operator or the studio asked to re-drive a failed request from the sync step (the
    syncer acts on it).

    Events written before `MachinesRetryRequested` existed may say `from_step="machines"` (and
    name `machine_ids`): the syncer forwards those as `MachinesRetryRequested`."""

    subject: ClassVar[str] = subjects.RETRY_REQUESTED
    request: RequestRef
    from_step: Literal["sync", "machines"] = "sync"
    machine_ids: list[str] = Field(default_factory=list)
    """Old events with from_step="machines" only: those machines (empty: every machine behind)."""


class MachinesRetryRequested(Event):
    """Re-roll the newest snapshot out to the machines a request's roll-out failed on (the
    studio's Retry after a machines failure, `showcasectl replay --from-step machines`).

    The updater acts on it directly: nothing is synced, so no `IndexSynced` is announced."""

    subject: ClassVar[str] = subjects.MACHINES_RETRY_REQUESTED
    request: RequestRef
    machine_ids: list[str] = Field(default_factory=list)
    """Only these machines; empty: every machine (those already serving it are not called)."""


class RolloutRequested(Event):
    """Roll out the current index with no studio request (operator `apply`)."""

    subject: ClassVar[str] = subjects.ROLLOUT_REQUESTED
    requested_by: str


MAX_INT64 = 2**63 - 1
"""The largest integer SQLite (and JSON consumers in other languages) store exactly."""


class Snapshot(BaseModel):
    """An immutable index snapshot in the object store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Bounded, so an update body with a huge number or a long string is a 422 naming the field
    # (and the agent's OpenAPI schema says so), never an overflow deeper down.
    generation: Generation
    object_key: str = Field(min_length=1, max_length=512)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0, le=MAX_INT64)


class RollbackAuthorisation(BaseModel):
    """What lets an agent take an OLDER generation: an operator's rollback, signed by the
    machine-updater with the update secret (`showcase_common.rollback_auth`). Without it, or with
    a signature that does not verify or is stale, an older generation is refused as always."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actor: str = Field(min_length=1, max_length=200, pattern=r"^[^\r\n]+$")
    """The operator who asked for it (`showcasectl rollback --as`)."""
    issued_at: dt.datetime
    signature: str = Field(pattern=r"^[0-9a-f]{64}$")
    """HMAC-SHA256 over the snapshot, the actor and the time, keyed by the update secret."""


class UpdateConfig(Snapshot):
    """The body of an agent's `POST /showcase/update_config`: the snapshot to apply and,
    optionally, the showcases it was published for (an agent beside the Rails application
    checks that their pages answer before it reports the generation applied)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generation": 2,
                    "object_key": "db/generations/000000000002.sqlite3",
                    "sha256": "9f2c" + "0" * 60,
                    "size": 24576,
                    "showcase_ids": [1],
                }
            ]
        }
    )

    showcase_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=1000
    )

    rollback: RollbackAuthorisation | None = None
    """Only for an operator's rollback to an older generation (absent otherwise)."""

    @property
    def snapshot(self) -> Snapshot:
        return Snapshot.model_validate(self.model_dump(exclude={"showcase_ids", "rollback"}))


class IndexSynced(Event):
    subject: ClassVar[str] = subjects.INDEX_SYNCED
    snapshot: Snapshot
    requests: list[RequestRef]
    machine_ids: list[str] | None = _legacy(None)
    """Legacy: before `MachinesRetryRequested`, the syncer answered a machines-only retry with
    an IndexSynced naming the machines (the updater still honours it). New events omit it."""


class IndexSyncFailed(Event):
    subject: ClassVar[str] = subjects.INDEX_SYNC_FAILED
    requests: list[RequestRef]
    reason: FailureReason = "unknown"
    error: str
    """Technical detail for operators (before the codes: a text meant for the studio)."""


class IndexSyncRetrying(Event):
    """Informational: the object store failed and the syncer is trying again.

    The request's status stays "processing". Consumers that do not know this event may ignore it.
    """

    subject: ClassVar[str] = subjects.INDEX_SYNC_RETRYING
    requests: list[RequestRef]
    attempt: Count
    """The attempt about to be made (2 for the first retry)."""
    max_attempts: Count
    reason: FailureReason = "storage_unavailable"
    error: str = ""
    """Technical detail of the failed attempt, for operators."""
    message: str | None = _legacy(None)
    """Legacy: the studio's text, which older syncers wrote here; not shown any more."""


class IndexPreparing(Event):
    """Informational: before its snapshot the syncer runs step `step` of `steps` of the Rails
    job's own preparation (maps, date sync, clean-up). Consumers that do not know it ignore it."""

    subject: ClassVar[str] = subjects.INDEX_PREPARING
    requests: list[RequestRef]
    step: Count
    steps: Count
    name: str = Field(max_length=200)


class MachineUpdated(Event):
    subject: ClassVar[str] = subjects.MACHINE_UPDATED
    generation: Generation
    requests: list[RequestRef]
    machine_id: str
    region: str
    done: Count
    """How many machines of this roll-out have finished (this one included)."""
    total: Count
    duration_s: Seconds
    handed_on: dict[str, str] = Field(default_factory=dict)
    """The new pages this machine hands on (a fly-replay) to the region that serves them, by
    path; every other page of the roll-out it serves itself."""
    protocol: str = "agent"
    """How it was updated: `agent` (the machine agent) or `update_config` (the Rails CGI)."""
    canary: bool = False
    """This machine was the roll-out's canary: updated alone, before the others."""


class CanaryStarted(Event):
    """A roll-out tries the generation on one machine first; the others wait for its verdict."""

    subject: ClassVar[str] = subjects.CANARY_STARTED
    generation: Generation
    requests: list[RequestRef]
    machine_id: str
    region: str
    total: Count


class MachineUpdateFailed(Event):
    subject: ClassVar[str] = subjects.MACHINE_UPDATE_FAILED
    generation: Generation
    requests: list[RequestRef]
    machine_id: str
    region: str
    done: Count
    total: Count
    reason: FailureReason = "unknown"
    error: str
    """Technical detail for operators."""


class MachineFailure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    machine_id: str
    region: str
    reason: FailureReason = "unknown"
    error: str
    """Technical detail for operators."""


class FleetUpdated(Event):
    subject: ClassVar[str] = subjects.FLEET_UPDATED
    generation: Generation
    requests: list[RequestRef]
    machine_ids: list[str]
    skipped: list[str] = Field(default_factory=list)
    """Machines not running now; they catch up when they boot."""
    duration_s: Seconds


class FleetUpdateFailed(Event):
    subject: ClassVar[str] = subjects.FLEET_UPDATE_FAILED
    generation: Generation
    requests: list[RequestRef]
    failures: list[MachineFailure]
    updated: list[str] = Field(default_factory=list)
    halted_by_canary: bool = False
    """The canary failed, so the roll-out stopped there: `untouched` still serve the previous
    generation (a retry of the request covers them too)."""
    untouched: list[str] = Field(default_factory=list)


class RollbackRequested(Event):
    """An operator rolls the fleet back to `snapshot`, an older generation still in the store
    (`showcasectl rollback`). The updater calls every machine with an authorisation signed with
    the update secret and naming `actor`; the pointer in S3 is already pinned to it."""

    subject: ClassVar[str] = subjects.ROLLBACK_REQUESTED
    snapshot: Snapshot
    actor: str = Field(min_length=1, max_length=200, pattern=r"^[^\r\n]+$")
    reason: str = Field(default="", max_length=1000)
    hold: bool = False
    """`--pin`: newer generations wait until `unpin`."""


class RolloutPaused(Event):
    """A roll-out is waiting: the operators paused updates (`showcasectl pause`). Its requests
    stay saved and go live once updates resume; no machine is called meanwhile."""

    subject: ClassVar[str] = subjects.ROLLOUT_PAUSED
    generation: Generation
    requests: list[RequestRef]
    paused_by: str = Field(max_length=200)
    reason: str = Field(default="", max_length=1000)


class RolloutResumed(Event):
    """The operators resumed updates: the roll-out that waited goes on."""

    subject: ClassVar[str] = subjects.ROLLOUT_RESUMED
    generation: Generation
    requests: list[RequestRef]


StuckStep = Literal["queued", "syncing", "updating"]
"""Where a request was when it stopped moving: waiting, at the sync, or at the machines."""


class RequestStuck(Event):
    """A request made no progress for `stuck_after_s` while roll-outs were not held (a pause or
    a pin hold is waiting on purpose, not stuck). The stuck watch (`showcasectl alerts run`)
    announces it once per stretch without progress. With `fails` (STUCK_POLICY=fail) the
    request is failed: the studio reads so and may Retry; without (alert) it goes on and only
    the admins are told (one e-mail either way)."""

    subject: ClassVar[str] = subjects.REQUEST_STUCK
    requests: list[RequestRef]
    step: StuckStep
    last_progress_at: dt.datetime
    """The last event that moved it (on its publisher's clock)."""
    stuck_after_s: Seconds
    fails: bool = True


def request_refs(event: Event) -> list[RequestRef]:
    """Every request an event concerns (one for created/retry, a list for the others)."""
    request = getattr(event, "request", None)
    if isinstance(request, RequestRef):
        return [request]
    return list(getattr(event, "requests", []))


EVENT_TYPES: tuple[type[Event], ...] = (
    ShowcaseCreated,
    RetryRequested,
    MachinesRetryRequested,
    RolloutRequested,
    IndexSynced,
    IndexSyncFailed,
    IndexSyncRetrying,
    IndexPreparing,
    MachineUpdated,
    MachineUpdateFailed,
    FleetUpdated,
    FleetUpdateFailed,
    RolloutPaused,
    RolloutResumed,
    CanaryStarted,
    RollbackRequested,
    RequestStuck,
)
_BY_SUBJECT: dict[str, type[Event]] = {t.subject: t for t in EVENT_TYPES}


class UndecodableEvent(ValueError):
    """The message is not a valid event of its subject (a permanent failure)."""


def decode(subject: str, data: bytes) -> Event:
    """Parse a message's payload into the event type of its subject."""
    event_type = _BY_SUBJECT.get(subject)
    if event_type is None:
        raise UndecodableEvent(f"no event type is published on {subject!r}")
    try:
        return event_type.model_validate_json(data)
    except ValueError as exc:
        raise UndecodableEvent(f"invalid {event_type.__name__}: {exc}") from exc


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()
