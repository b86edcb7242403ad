"""Who publishes and who consumes each event on the bus: the one declaration.

Each `Party` is a process that talks to NATS under its own name (its `service_name`, the NATS user
a deployment gives it): the events it publishes, the durable consumers it reads them with (the
event types of each, and the handler each event goes to). Derived from it: `docs/asyncapi.yaml`
(`showcasectl asyncapi`), `showcasectl topology`, and each NATS user's permissions
(`showcase_common.roles`, which adds the buckets and stream reads NATS needs). Kept true by tests (`tests/unit/workspace/test_topology.py`): every service's
`ConsumerSpec` tables (built with its fakes) are exactly its declared consumers, and the events a
package constructs are exactly those it is declared to publish.

A new event, publisher or consumer is declared here in the same change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from showcase_common import subjects
from showcase_common.events import (
    CanaryStarted,
    Event,
    FleetUpdated,
    FleetUpdateFailed,
    IndexPreparing,
    IndexSynced,
    IndexSyncFailed,
    IndexSyncRetrying,
    MachinesRetryRequested,
    MachineUpdated,
    MachineUpdateFailed,
    RequestStuck,
    RetryRequested,
    RollbackRequested,
    RolloutPaused,
    RolloutRequested,
    RolloutResumed,
    ShowcaseCreated,
)

__all__ = [
    "PARTIES",
    "Consumes",
    "Party",
    "consumers_of",
    "handler_table",
    "party",
    "publishers_of",
]


@dataclass(frozen=True)
class Consumes:
    """One durable consumer: its name, the event types it takes (its filter subjects) and the
    handler its `ConsumerSpec` gives them (`module.Class.method`; " (batch)": a batch handler)."""

    durable: str
    events: tuple[type[Event], ...]
    handler: str

    @property
    def subjects(self) -> list[str]:
        return sorted(e.subject for e in self.events)


@dataclass(frozen=True)
class Party:
    name: str
    """The process's `service_name` (and its NATS user)."""
    package: str
    """Where its code lives (the tests read it)."""
    publishes: tuple[type[Event], ...] = ()
    consumes: tuple[Consumes, ...] = ()
    republishes: bool = False
    """Re-publishes stored events of any type as they were (`showcasectl replay`, `dlq`)."""
    summary: str = ""


PROJECTED_EVENTS: tuple[type[Event], ...] = (
    ShowcaseCreated,
    RetryRequested,
    MachinesRetryRequested,
    IndexSynced,
    IndexSyncRetrying,
    IndexPreparing,
    IndexSyncFailed,
    MachineUpdated,
    MachineUpdateFailed,
    FleetUpdated,
    FleetUpdateFailed,
    RolloutPaused,
    RolloutResumed,
    CanaryStarted,
    RequestStuck,
)

PARTIES: tuple[Party, ...] = (
    Party(
        "intake",
        "intake",
        publishes=(ShowcaseCreated, RetryRequested, MachinesRetryRequested),
        consumes=(
            Consumes(
                subjects.INTAKE_OUTCOMES_DURABLE,
                (FleetUpdated, IndexSyncFailed, FleetUpdateFailed),
                "intake.outcomes.Outcomes",
            ),
        ),
        summary="studio requests and retries in; each request's outcome recorded and mailed",
    ),
    Party(
        "syncer",
        "syncer",
        publishes=(
            IndexSynced,
            IndexSyncRetrying,
            IndexPreparing,
            IndexSyncFailed,
            MachinesRetryRequested,
        ),
        consumes=(
            Consumes(
                subjects.SYNCER_DURABLE,
                (ShowcaseCreated, RetryRequested, RolloutRequested),
                "syncer.handlers.SyncHandler.handle_batch (batch)",
            ),
        ),
        summary="snapshots the index to S3 (a new generation) and announces it",
    ),
    Party(
        "machine-updater",
        "machine_updater",
        publishes=(
            MachineUpdated,
            MachineUpdateFailed,
            FleetUpdated,
            FleetUpdateFailed,
            RetryRequested,
            RolloutPaused,
            RolloutResumed,
            CanaryStarted,
        ),
        consumes=(
            Consumes(
                subjects.MACHINE_UPDATER_DURABLE,
                (IndexSynced, MachinesRetryRequested, RollbackRequested),
                "machine_updater.handlers.RolloutHandler.handle_batch (batch)",
            ),
        ),
        summary="rolls each generation out to the fleet, machine by machine",
    ),
    Party(
        "progress-gateway",
        "progress_gateway",
        consumes=(
            Consumes(
                subjects.PROGRESS_DURABLE,
                PROJECTED_EVENTS,
                "progress_gateway.projector.Projector.handle_batch (batch)",
            ),
        ),
        summary="folds every step into each request's progress (KV) and serves it on WebSockets",
    ),
    Party(
        "showcasectl-alerts",
        "showcasectl",
        publishes=(RequestStuck,),
        consumes=(
            Consumes(
                subjects.ADMIN_ALERTS_DURABLE,
                (IndexSyncFailed, FleetUpdateFailed, RequestStuck),
                "showcasectl.alerts.AdminAlerts",
            ),
            Consumes(
                subjects.STUCK_WATCH_DURABLE,
                PROJECTED_EVENTS,
                "showcasectl.stuck.StuckWatch.handle",
            ),
        ),
        summary="`showcasectl alerts run`: one e-mail to the admins per failed or stuck "
        "request; the stuck watch fails (or reports) a request with no progress",
    ),
    Party(
        "showcasectl",
        "showcasectl",
        publishes=(RolloutRequested, RollbackRequested, RetryRequested, MachinesRetryRequested),
        republishes=True,
        summary="the operators' commands: apply, replay, retry, dead letters, pause, rollback",
    ),
)


def party(name: str) -> Party:
    return next(p for p in PARTIES if p.name == name)


def publishers_of(event: type[Event]) -> list[str]:
    """The parties that publish `event` (a re-publisher is not counted: it publishes nothing new)."""
    return [p.name for p in PARTIES if event in p.publishes]


def consumers_of(event: type[Event]) -> Iterator[tuple[Party, Consumes]]:
    for p in PARTIES:
        for consumes in p.consumes:
            if event in consumes.events:
                yield p, consumes


def handler_table() -> list[tuple[str, str, str, str, str]]:
    """(party, durable, subject, event, handler) for every consumed event, by subject."""
    rows = [
        (p.name, c.durable, e.subject, e.__name__, c.handler)
        for p in PARTIES
        for c in p.consumes
        for e in c.events
    ]
    return sorted(rows, key=lambda r: (r[2], r[0]))
