"""Intake's use cases: a showcase created (with its request, or an admin's e-mail), requests
found and listed, templates, a retry's event enqueued. Synchronous (SQLite); the web layer runs
them in the database lanes (`intake.db_lanes`), but for `create_showcase`, which hands its
statements (`create_step`, plain SQL: `intake.submissions`) to the writer's next batch
transaction itself (`intake.group_commit`). Rows become events in `intake.event_mapping`.

A regular user's showcase, its Request and the ShowcaseCreated outbox row commit together, so a
crash can lose none of them without losing all; the relay publishes the row afterwards. An admin's
showcase commits with its e-mail row (`pipeline_mail_outbox`) the same way; the mail relay sends it.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from showcase_common import events
from showcase_common.index import (
    Location,
    Region,
    Showcase,
    User,
    format_date,
    is_lone_showcase,
    page_path,
    region_for,
    served_regions,
)
from sqlmodel import Session, col, func, select

from intake import access, metrics, recurring, showcases, submissions
from intake.db_lanes import Database
from intake.event_mapping import outbox_row, request_ref, showcase_ref
from intake.group_commit import Transaction
from intake.idempotency import Idempotency, IdempotencyMismatch
from intake.mail import admin_notice
from intake.models import Outbox, Request
from intake.showcases import Draft, Invalid
from intake.submissions import IndexRows

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


class Forbidden(Exception):
    """The user may not act on this location or request."""

    reason = "not_owner"


@dataclass
class Created:
    showcase: Showcase
    location: Location
    request_id: str | None
    """The request rolling it out; None for an admin: no automation runs."""
    page_path: str
    """Where the fleet serves the showcase's page (`showcases.fleet_page_path`)."""
    replayed: bool = False
    """True when a repeated Idempotency-Key found what its first POST created."""


@dataclass
class RequestView:
    request: Request
    ref: events.RequestRef
    showcase: Showcase
    location: Location
    owner: User


STORED_STATES: dict[str, tuple[str, ...]] = {
    "queued": ("queued",),
    "processing": ("published", "processing"),
    "completed": ("completed",),
    "failed": ("failed",),
}
"""A request's state as the list filters it -> the `pipeline_requests.status` values it covers
(`published`: on the bus, nothing heard back yet)."""


@dataclass(frozen=True)
class RequestQuery:
    """Which page of which requests (`GET /requests`, `GET /api/requests`)."""

    state: str | None = None
    location: str | None = None
    page: int = 1
    per_page: int = 20


@dataclass
class RequestPage:
    views: list[RequestView]
    total: int
    query: RequestQuery

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


class UseCases:
    """What the routes ask of intake (they run each in a database lane)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        public_fleet_url: str,
        on_outbox: Callable[[], None],
        on_change: Callable[[], None],
        on_mail: Callable[[], None] = lambda: None,
    ) -> None:
        self._db, self._clock = db, clock
        self._on_change = on_change
        self._fleet_url = public_fleet_url.rstrip("/")
        self._on_outbox = on_outbox
        self._on_mail = on_mail

    async def create_showcase(
        self, user: User, draft: Draft, idempotency: Idempotency | None = None
    ) -> Created:
        """The new showcase (and request), or, for a repeated Idempotency-Key, what its first
        POST created (`replayed`): a step of the writer's next batch (`group_commit`), handed
        back once that batch committed. A refusal is counted here, whichever door (form or
        API) it came through."""
        try:
            result = await self._db.step(self.create_step, user, draft, idempotency)
        except (Invalid, Forbidden, IdempotencyMismatch) as refusal:
            metrics.REFUSALS.labels(refusal.reason).inc()
            raise
        if not result.replayed:
            self._after_change(result.request_id is not None)
        return result

    def create_step(
        self, tx: Transaction, user: User, draft: Draft, idempotency: Idempotency | None
    ) -> Created:
        """The submission's statements on the batch's transaction (in its own savepoint: an
        exception undoes this submission alone)."""
        index = tx.once("index", IndexRows)
        if idempotency is not None and (first := _remembered(index, user, idempotency)):
            return first
        location = showcases.find_location(index, draft)
        if location is not None and not access.may_request(
            user, location, lambda: index.sister_names(user)
        ):
            raise Forbidden(f"{user.userid} may not request for {location.key}")
        rules = showcases.Rules(admin=access.is_admin(user), strict=draft.from_form)
        valid = showcases.validate(index, draft, self._clock().date(), rules)
        try:
            created = self._insert(tx, index, user, valid)
            if idempotency is not None:
                submissions.remember_key(
                    tx.conn,
                    user.id,  # type: ignore[arg-type]  # a stored row: its id is set
                    idempotency.key,
                    idempotency.body_sha256,
                    created.showcase.id,  # type: ignore[arg-type]  # inserted: its id is set
                    created.request_id,
                    self._clock(),
                )
        except sqlite3.IntegrityError:
            # Not reached while every writer begins IMMEDIATE and checks first; kept a 422.
            raise Invalid(
                {"name": "conflicts with a showcase saved at the same moment"}, "taken"
            ) from None
        return created

    def _insert(
        self, tx: Transaction, index: IndexRows, user: User, valid: showcases.ValidShowcase
    ) -> Created:
        now = self._clock()
        location = valid.location
        showcase = Showcase(  # as the Rails application writes a row (RAILS_INDEX.md)
            location_id=location.id,  # type: ignore[arg-type]  # a stored row: its id is set
            year=valid.year,
            key=valid.key,
            name=valid.name,
            order=index.next_order(),
            date=format_date(valid.start_date, valid.end_date),
            created_at=now,
            updated_at=now,
        )
        showcase.id = submissions.insert_showcase(tx.conn, showcase)
        lone = is_lone_showcase(
            valid.key,
            index.showcases_that_year(location.id, valid.year),  # type: ignore[arg-type]  # a stored row: its id is set
        )
        path = page_path(valid.year, location.key or "", valid.key, lone=lone)
        if access.is_admin(user):  # no automation: the admins learn of it by e-mail
            submissions.insert_row(tx.conn, admin_notice(showcase, location, user, now))
            return Created(showcase, location, None, path)
        request_id = events.new_id()
        submissions.insert_request(
            tx.conn,
            request_id,
            user.id,  # type: ignore[arg-type]  # a stored row: its id is set
            showcase.id,
            now,
        )
        regions = tx.once("regions", lambda _conn: index.regions())
        region = region_for(location, tx.once("served", lambda _conn: served_regions(regions)))
        ref = events.RequestRef(
            request_id=request_id,
            user=user.userid or "",
            showcase=showcase_ref(showcase, location, path, region),
            redirect_url=self.redirect_url(path),
            regions={r.code: r.location for r in regions if r.code and r.location},
        )
        event = events.ShowcaseCreated(request=ref, occurred_at=now)
        submissions.insert_outbox(
            tx.conn,
            event.event_id,
            event.subject,
            events.encode(event).decode(),
            request_id,
            now,
        )
        return Created(showcase, location, request_id, path)

    def _after_change(self, queued: bool) -> None:
        metrics.SHOWCASES_CREATED.labels("studio_request" if queued else "admin").inc()
        self._on_change()  # showcases.yml
        if queued:
            self._on_outbox()
        else:
            self._on_mail()

    def request_ref(
        self, request: Request, user: User, showcase: events.ShowcaseRef, page_path: str
    ) -> events.RequestRef:
        return request_ref(
            request, user, showcase, self.redirect_url(page_path), self._region_names()
        )

    def _region_names(self) -> dict[str, str]:
        """Region code → the place's name, from the index's `regions` rows (the progress page
        names places, not codes)."""
        with self._db.session() as session:
            rows = session.exec(select(Region.code, Region.location))
            return {code: name for code, name in rows if code and name}

    def redirect_url(self, page_path: str) -> str:
        return f"{self._fleet_url}{page_path}"

    def redirect_url_of(self, created: Created) -> str:
        return self.redirect_url(created.page_path)

    def find_request(self, user: User, request_id: str) -> RequestView | None:
        """The request if `user` may see it (its owner or an admin), else None."""
        with self._db.session() as session:
            request = session.get(Request, request_id) if len(request_id) <= 32 else None
            if request is None or not (access.is_admin(user) or request.user_id == user.id):
                return None
            owner = session.get(User, request.user_id)
            showcase = session.get(Showcase, request.showcase_id)
            assert owner is not None and showcase is not None  # foreign keys
            location = session.get(Location, showcase.location_id)
            assert location is not None
            return self._view(session, request, owner, showcase, location)

    def _view(
        self,
        session: Session,
        request: Request,
        owner: User,
        showcase: Showcase,
        location: Location,
    ) -> RequestView:
        path = showcases.fleet_page_path(session, showcase, location)
        region = showcases.fleet_region(session, location)
        ref = self.request_ref(request, owner, showcase_ref(showcase, location, path, region), path)
        return RequestView(request, ref, showcase, location, owner)

    def list_requests(self, user: User, query: RequestQuery) -> RequestPage:
        """A page of the requests `user` may see, newest first: their own, or (an admin)
        everyone's, narrowed by `query`'s state and location."""
        with self._db.session() as session:
            statement = (
                select(Request, User, Showcase, Location)
                .join(User, col(User.id) == col(Request.user_id))
                .join(Showcase, col(Showcase.id) == col(Request.showcase_id))
                .join(Location, col(Location.id) == col(Showcase.location_id))
            )
            if not access.is_admin(user):
                statement = statement.where(col(Request.user_id) == user.id)
            if query.state is not None:
                statement = statement.where(col(Request.status).in_(STORED_STATES[query.state]))
            if query.location is not None:
                statement = statement.where(col(Location.key) == query.location)
            total = session.exec(select(func.count()).select_from(statement.subquery())).one()
            rows = session.exec(
                statement.order_by(col(Request.created_at).desc(), col(Request.id).desc())
                .offset((query.page - 1) * query.per_page)
                .limit(query.per_page)
            ).all()
            views = [self._view(session, *row) for row in rows]
        return RequestPage(views, total, query)

    def template(self, user: User, showcase_id: int) -> recurring.Template | None:
        """Next year's occurrence of a showcase `user` may request for (else None)."""
        with self._db.session() as session:
            showcase = session.get(Showcase, showcase_id) if 0 < showcase_id <= 2**62 else None
            location = session.get(Location, showcase.location_id) if showcase else None
            if showcase is None or location is None:
                return None
            if not access.may_request_for(session, user, location):
                return None
            return recurring.template_of(
                showcase.name or "",
                location.id,  # type: ignore[arg-type]  # a stored row: its id is set
                showcase.year,
                showcase.date,
                self._clock().date(),
            )

    def past_showcases(self, user: User, limit: int = 100) -> list[tuple[int, str]]:
        """The showcases a template may start from: those of the locations `user` may request
        for, newest first, as (id, "Name (Studio, year)")."""
        with self._db.session() as session:
            locations = {loc.id: loc for loc in access.requestable(session, user)}
            if not locations:
                return []
            rows = session.exec(
                select(Showcase)
                .where(col(Showcase.location_id).in_(list(locations)))
                .order_by(col(Showcase.year).desc(), col(Showcase.order).desc())
                .limit(limit)
            ).all()
            return [
                (
                    row.id,  # type: ignore[misc]  # a stored row: its id is set
                    f"{row.name} ({locations[row.location_id].name}, {row.year})",
                )
                for row in rows
            ]

    def enqueue(self, event: events.Event, msg_id: str, request_id: str | None) -> bool:
        """Put an event in the outbox under a chosen id; False if that id is already there."""
        with self._db.writing() as session:
            if session.get(Outbox, msg_id) is not None:
                return False
            session.add(outbox_row(event, request_id, row_id=msg_id))
            request = session.get(Request, request_id) if request_id else None
            if request is not None and request.status == "failed":  # a retry: running again
                request.status, request.finished_at = "processing", None
                request.updated_at = self._clock()
                session.add(request)
        self._on_outbox()
        return True


def _remembered(index: IndexRows, user: User, idempotency: Idempotency) -> Created | None:
    """What the key's first POST created, or None for a key not seen (or whose showcase the
    Rails application deleted with foreign keys off: that key is forgotten)."""
    user_id: int = user.id  # type: ignore[assignment]  # a stored row: its id is set
    row = submissions.remembered_key(index.conn, user_id, idempotency.key)
    if row is None:
        return None
    body_sha256, showcase_id, request_id = row
    if body_sha256 != idempotency.body_sha256:
        raise IdempotencyMismatch(idempotency.key)
    showcase = index.showcase(showcase_id)
    location = index.location(showcase.location_id) if showcase is not None else None
    if showcase is None or location is None:
        submissions.forget_key(index.conn, user_id, idempotency.key)
        return None
    lone = is_lone_showcase(
        showcase.key or "", index.showcases_that_year(showcase.location_id, showcase.year)
    )
    path = page_path(showcase.year or 0, location.key or "", showcase.key or "", lone=lone)
    return Created(showcase, location, request_id, path, replayed=True)
