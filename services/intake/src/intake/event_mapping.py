"""Rows → the events intake publishes: a showcase's and a request's references as events carry
them, and the outbox row an event is stored in until the relay publishes it."""

from __future__ import annotations

from showcase_common import events
from showcase_common.index import Location, Showcase, User

from intake.models import Outbox, Request


def showcase_ref(
    showcase: Showcase, location: Location, page: str, region: str | None = None
) -> events.ShowcaseRef:
    return events.ShowcaseRef(
        showcase_id=showcase.id,
        year=showcase.year,
        location_key=location.key,
        key=showcase.key,
        name=showcase.name,
        page=page,
        region=region,
    )


def request_ref(
    request: Request,
    user: User,
    showcase: events.ShowcaseRef,
    redirect_url: str,
    regions: dict[str, str],
) -> events.RequestRef:
    """`regions`: region code → the place's name (the progress page names places, not codes)."""
    return events.RequestRef(
        request_id=request.id,
        user=user.userid or "",
        showcase=showcase,
        redirect_url=redirect_url,
        regions=regions,
    )


def outbox_row(event: events.Event, request_id: str | None, row_id: str | None = None) -> Outbox:
    return Outbox(
        id=row_id or event.event_id,
        subject=event.subject,
        payload=events.encode(event).decode(),
        request_id=request_id,
        created_at=event.occurred_at,
    )
