"""The admin's Apply: what it would change, and the tracked roll-out it starts.

An admin's own showcase runs no automation (as in the Rails app): it goes live with the next
roll-out. The admin page shows what that roll-out would change (`apply_diff`: the index's
showcases.yml against `deployed-showcases.yml`) and Apply starts one now, as a request like a
studio's — a `pipeline_requests` row owned by the admin and a `ShowcaseCreated` in the outbox,
committed together — so the progress page follows it step by step and the outcome is recorded
(and `deployed-showcases.yml` rewritten) like any other. The syncer's snapshot carries the whole
index, so every pending change goes out with it; the request names one showcase (the first one
added, else changed, else one of a site that moves region, else the newest) whose page the
updater checks on each machine.

Pressing Apply again while that request is under way answers the same request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from showcase_common import events
from showcase_common.index import Location, Showcase, User
from sqlmodel import Session, col, select

from intake import showcases
from intake.apply_diff import ApplyDiff, diff, load
from intake.db_lanes import Database
from intake.event_mapping import outbox_row, showcase_ref
from intake.models import Request
from intake.showcases_file import index_showcases_yml
from intake.use_cases import UseCases

UNFINISHED = ("queued", "published", "processing")


class NothingToApply(Exception):
    """The fleet already serves the index as it is."""


@dataclass
class Applied:
    request: Request
    showcase: Showcase
    location: Location
    diff: ApplyDiff
    reused: bool = False
    """True when a request of this admin for the same showcase was already under way."""


class AdminApply:
    def __init__(
        self,
        db: Database,
        use_cases: UseCases,
        deployed: Path,
        clock: Callable[[], dt.datetime],
        on_outbox: Callable[[], None],
    ) -> None:
        self._db, self._use_cases, self._deployed = db, use_cases, deployed
        self._clock, self._on_outbox = clock, on_outbox

    def pending(self) -> ApplyDiff:
        """What a roll-out would change now."""
        with self._db.session() as session:
            return self._diff(session)

    def _diff(self, session: Session) -> ApplyDiff:
        try:
            deployed = self._deployed.read_text(encoding="utf-8")
        except FileNotFoundError:
            deployed = None  # nothing recorded yet: every event is new to the fleet
        return diff(load(index_showcases_yml(session)), load(deployed))

    def apply(self, admin: User) -> Applied:
        """The request that rolls the pending changes out; `NothingToApply` when there are none."""
        with self._db.writing() as session:
            pending = self._diff(session)
            if pending.empty:
                raise NothingToApply("the fleet already serves the index as it is")
            showcase, location = _target(session, pending)
            under_way = session.exec(
                select(Request).where(
                    col(Request.showcase_id) == showcase.id,
                    col(Request.user_id) == admin.id,
                    col(Request.status).in_(UNFINISHED),
                )
            ).first()
            if under_way is not None:
                return Applied(under_way, showcase, location, pending, reused=True)
            request = self._request(session, admin, showcase, location)
        self._on_outbox()
        return Applied(request, showcase, location, pending)

    def _request(
        self, session: Session, admin: User, showcase: Showcase, location: Location
    ) -> Request:
        now = self._clock()
        request = Request(
            id=events.new_id(),
            user_id=admin.id,  # type: ignore[arg-type]  # a stored row: its id is set
            showcase_id=showcase.id,  # type: ignore[arg-type]  # a stored row: its id is set
            created_at=now,
            updated_at=now,
        )
        session.add(request)
        path = showcases.fleet_page_path(session, showcase, location)
        region = showcases.fleet_region(session, location)
        ref = self._use_cases.request_ref(
            request, admin, showcase_ref(showcase, location, path, region), path
        )
        session.add(outbox_row(events.ShowcaseCreated(request=ref, occurred_at=now), request.id))
        return request


def _target(session: Session, pending: ApplyDiff) -> tuple[Showcase, Location]:
    """The showcase the request names (its page is checked on every machine)."""
    wanted = [e.ident for e in pending.added] + [c.after.ident for c in pending.changed]
    for year, location_key, key in wanted:
        found = session.exec(
            select(Showcase, Location)
            .join(Location, col(Location.id) == col(Showcase.location_id))
            .where(Showcase.year == year, Location.key == location_key, Showcase.key == key)
        ).first()
        if found is not None:
            return found
    moved = [m.location for m in pending.moved]
    statement = select(Showcase, Location).join(
        Location, col(Location.id) == col(Showcase.location_id)
    )
    if moved:
        found = session.exec(
            statement.where(col(Location.key).in_(moved)).order_by(col(Showcase.id).desc())
        ).first()
        if found is not None:
            return found
    newest = session.exec(statement.order_by(col(Showcase.id).desc())).first()
    if newest is None:
        raise NothingToApply("the index holds no showcase to roll out")
    return newest
