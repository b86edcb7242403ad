"""A request's outcome, heard from the bus: the fleet serves it (`FleetUpdated`) or it failed
(`IndexSyncFailed`, `FleetUpdateFailed`).

For each request of such an event, one write transaction records the outcome on the request's
row (the requests lists filter and time it) and adds the studio's e-mail to the mail outbox
(`intake.studio_mail`), keyed so that a redelivered, replayed or late event adds nothing; the
message is acknowledged only after that commit. The mail relay sends the row afterwards: a
crash before sending leaves the row to be sent at the next start, a crash after recording it
as sent never sends it again.

No e-mail for an admin's own request, nor for a user without an address (that is logged), nor
for an outcome older than `max_age_s` (a first start reads the whole stream).

The deployed state: a fresh `FleetUpdated` also writes `deployed-showcases.yml` beside the
index (`deployed`), as the Rails `ConfigUpdateJob` copies `showcases.yml` there after a
successful run — what the fleet now serves, which the admin's Apply diff compares with.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from showcase_common import events, subjects
from showcase_common.bus import ConsumerOptions, ConsumerSpec, Delivery
from showcase_common.index.models import Location, Region, Showcase, User
from sqlmodel import Session, select

from intake import access, metrics, studio_mail
from intake.db_lanes import Database
from intake.models import MailOutbox, Request
from intake.showcases_file import ShowcasesFile

log = logging.getLogger(__name__)

FAILURE_WORDS = {
    "sync": "Your showcase could not be sent to the regions that serve it.",
    "machines": "Your showcase could not be published in every region: {regions}.",
}


class Outcomes:
    """The handler: records each request's outcome and its e-mail, in one transaction."""

    def __init__(
        self,
        db: Database,
        public_intake_url: str,
        clock: Callable[[], dt.datetime],
        *,
        max_age_s: float = 24 * 3600.0,
        on_mail: Callable[[], None] = lambda: None,
        deployed: ShowcasesFile | None = None,
    ) -> None:
        self._db, self._clock, self._on_mail = db, clock, on_mail
        self._deployed = deployed
        self._intake_url = public_intake_url.rstrip("/")
        self._max_age = dt.timedelta(seconds=max_age_s)

    async def __call__(self, delivery: Delivery) -> None:
        await self.handle(delivery.event)

    async def handle(self, event: events.Event) -> int:
        """Record the event's outcomes; returns how many e-mails were added (0 on a repeat)."""
        added = await self._db.write(self._record, event, bounded=False)
        if added:
            self._on_mail()
        if isinstance(event, events.FleetUpdated) and self._fresh(event):
            await self._db.read(self._record_deployed, event.generation, bounded=False)
        return added

    def _fresh(self, event: events.Event) -> bool:
        return self._clock() - event.occurred_at <= self._max_age

    def _record_deployed(self, generation: int) -> None:
        if self._deployed is None:
            return
        with self._db.session() as session:
            if self._deployed.write(session):
                log.info("generation %d deployed: %s rewritten", generation, self._deployed.path)

    def _record(self, event: events.Event) -> int:
        added = 0
        with self._db.writing() as session:
            for ref in getattr(event, "requests", []):
                added += self._record_one(session, event, ref)
        return added

    def _record_one(self, session: Session, event: events.Event, ref: events.RequestRef) -> int:
        request = session.get(Request, ref.request_id)
        if request is None:  # another intake's, or deleted with its showcase
            return 0
        if request.status == "completed":  # terminal: a late failure changes nothing
            return 0
        completed = isinstance(event, events.FleetUpdated)
        request.status = "completed" if completed else "failed"
        request.finished_at = event.occurred_at
        request.updated_at = event.occurred_at
        session.add(request)
        row_id = (
            studio_mail.completion_id(request.id)
            if completed
            else studio_mail.failure_id(request.id, event.event_id)
        )
        if session.get(MailOutbox, row_id) is not None:
            return 0  # told already (a redelivery or a replay)
        if self._clock() - event.occurred_at > self._max_age:
            # A new durable reads the stream from its start: old outcomes are recorded, not mailed.
            log.info("request %s: outcome from %s, too old to mail", request.id, event.occurred_at)
            return 0
        requested = self._requested(session, request)
        if requested is None:
            return 0
        if completed:
            took = (event.occurred_at - _aware(request.created_at)).total_seconds()
            row = studio_mail.completed(
                row_id, requested, ref.redirect_url, took, event.occurred_at
            )
        else:
            error = _what_failed(session, event)
            row = studio_mail.failed(row_id, requested, error, event.occurred_at)
        session.add(row)
        metrics.STUDIO_EMAILS.labels("queued").inc()
        log.info("e-mail %s to %s about request %s queued", row_id, row.recipient, request.id)
        return 1

    def _requested(self, session: Session, request: Request) -> studio_mail.Requested | None:
        """What the e-mail speaks of, or None when no e-mail is due (said in the log)."""
        owner = session.get(User, request.user_id)
        showcase = session.get(Showcase, request.showcase_id)
        location = session.get(Location, showcase.location_id) if showcase else None
        if owner is None or showcase is None or location is None:
            return None
        if access.is_admin(owner):
            log.info("request %s is an admin's own: no e-mail", request.id)
            return None
        if not (owner.email or "").strip():
            log.info("request %s: %s has no e-mail address, none sent", request.id, owner.userid)
            metrics.STUDIO_EMAILS.labels("no_address").inc()
            return None
        page = f"{self._intake_url}/requests/{request.id}"
        return studio_mail.Requested(showcase, location, owner, page)


def _what_failed(session: Session, event: events.Event) -> str:
    """What the studio reads about the failure (never the technical detail), the regions by
    their names in the index (`regions.location`)."""
    if isinstance(event, events.FleetUpdateFailed):
        codes = sorted({f.region for f in event.failures})
        names = region_names(session)
        regions = ", ".join(names.get(code, code) for code in codes) or "?"
        return FAILURE_WORDS["machines"].format(regions=regions)
    return FAILURE_WORDS["sync"]


def region_names(session: Session) -> dict[str, str]:
    """Region code → the place's name, as the index's `regions` rows have them."""
    rows = session.exec(select(Region.code, Region.location))
    return {code: name for code, name in rows if code and name}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def consumer(handler: Outcomes, options: ConsumerOptions) -> ConsumerSpec:
    """The durable consumer of the outcome events (`intake-outcomes`)."""
    return ConsumerSpec(
        subjects.INTAKE_OUTCOMES_DURABLE,
        handles={
            events.FleetUpdated: handler,
            events.IndexSyncFailed: handler,
            events.FleetUpdateFailed: handler,
        },
        options=options,
    )
