"""Turning use-case results into the contract's JSON and URLs."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import Request
from showcase_common.index import Location, Showcase, User, parse_date
from showcase_common.progress import RequestProgress
from showcase_common.tokens import issue_token

from intake.mail import notice_for
from intake.models import ProgressLink, RequestSummary, ShowcaseCreatedOut, ShowcasePublic
from intake.route_deps import RouteDeps
from intake.use_cases import Created, RequestView

log = logging.getLogger(__name__)


def showcase_public(showcase: Showcase, location: Location) -> ShowcasePublic:
    start, end = parse_date(showcase.date)  # null both for a free-form date such as `2025`
    return ShowcasePublic(
        id=showcase.id,
        location_id=location.id,
        location_key=location.key,
        year=showcase.year,
        key=showcase.key,
        name=showcase.name,
        order=showcase.order,
        date=showcase.date,
        start_date=start,
        end_date=end,
    )


def showcase_dates(showcase: Showcase) -> tuple[dt.date | None, dt.date | None]:
    return parse_date(showcase.date)


RequestRow = RequestSummary
"""A row of the requests page is the API's summary (one shape for both)."""

StateReader = Callable[[RouteDeps, RequestView], Awaitable[RequestProgress]]


async def request_rows(
    deps: RouteDeps, views: list[RequestView], state_of: StateReader
) -> list[RequestSummary]:
    """Each request with its live state (the gateway's, else what intake recorded)."""
    states = await asyncio.gather(*(state_of(deps, view) for view in views))
    return [summary(view, state) for view, state in zip(views, states, strict=True)]


def summary(view: RequestView, state: RequestProgress) -> RequestSummary:
    request = view.request
    finished = request.finished_at
    if finished is None and state.status in ("completed", "failed") and state.updated_at:
        finished = dt.datetime.fromisoformat(state.updated_at)
    duration = None
    if finished is not None and state.status in ("completed", "failed"):
        duration = round(
            max(0.0, (_aware(finished) - _aware(request.created_at)).total_seconds()), 1
        )
    return RequestSummary(
        request_id=request.id,
        user=view.ref.user,
        showcase=view.showcase.name or "",
        location_key=view.location.key or "",
        location=view.location.name or view.location.key or "",
        year=view.showcase.year,
        status=state.status,
        progress=state.progress,
        message=state.message,
        created_at=_aware(request.created_at),
        finished_at=_aware(finished) if finished is not None else None,
        duration_s=duration if state.status in ("completed", "failed") else None,
        page_url=f"/requests/{request.id}",
        redirect_url=state.redirect_url or None if state.status == "completed" else None,
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def progress_link(deps: RouteDeps, login: str, request_id: str) -> ProgressLink:
    settings = deps.settings
    token = issue_token(
        settings.progress_token_secret,
        login,
        [request_id],
        ttl=dt.timedelta(seconds=settings.progress_token_ttl_s),
    )
    base = settings.public_gateway_url.rstrip("/")
    return ProgressLink(ws_url=f"{base}/ws/progress?token={token}", token=token)


def status_url(http: Request, request_id: str) -> str:
    """`http.url_for("request_status", request_id=…)`, the same string, without looking the
    route up among all the app's routes on every answer (~5 % of an accepted POST's CPU):
    the route's path is looked up once per app and kept in its state."""
    state = http.app.state
    around: tuple[str, str] | None = getattr(state, "status_path", None)
    if around is None:
        router = http.scope.get("router") or http.app
        path = str(router.url_path_for("request_status", request_id=_ID_MARK))
        before, _, after = path.partition(_ID_MARK)
        around = state.status_path = (before, after)
    return str(http.base_url).rstrip("/") + around[0] + request_id + around[1]


_ID_MARK = "0request0id0"
"""A stand-in request id, to split the status route's path around it."""


def events_path(location: Location) -> str:
    return f"/locations/{location.key}/events"


def with_notice(target: str, notice: str) -> str:
    """`target` (a path, or an absolute URL such as the Rails app's) with the notice added to
    its query (intake's events page shows it)."""
    parts = urlsplit(target)
    query = "&".join(q for q in (parts.query, urlencode({"notice": notice})) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def created_body(deps: RouteDeps, http: Request, user: User, created: Created) -> dict[str, object]:
    """The API's answer to a created showcase; a replay renders it afresh (a new token)."""
    if created.request_id is None:  # an admin: no automation, the events page is where it shows
        out = ShowcaseCreatedOut(
            showcase=showcase_public(created.showcase, created.location),
            request_id=None,
            redirect_url=str(http.base_url).rstrip("/") + events_path(created.location),
            notice=notice_for(created.showcase),
        )
        return _without_empty(out.model_dump(mode="json")) | {"request_id": None}
    # The studio's answer, the busy path: the JSON `ShowcaseCreatedOut` dumps, written straight
    # from the values it holds (models built and dumped for every POST were ~2 % of its CPU).
    request_id = created.request_id
    progress = progress_link(deps, user.userid or "", request_id)
    return {
        "showcase": showcase_json(created.showcase, created.location),
        "request_id": request_id,
        "status_url": status_url(http, request_id),
        "progress": {"ws_url": progress.ws_url, "token": progress.token},
        "redirect_url": deps.use_cases.redirect_url_of(created),
    }


def showcase_json(showcase: Showcase, location: Location) -> dict[str, object]:
    """`showcase_public(…).model_dump(mode="json")`, without building the model."""
    start, end = parse_date(showcase.date)
    return {
        "id": showcase.id,
        "location_id": location.id,
        "location_key": location.key,
        "year": showcase.year,
        "key": showcase.key,
        "name": showcase.name,
        "order": showcase.order,
        "date": showcase.date,
        "start_date": None if start is None else start.isoformat(),
        "end_date": None if end is None else end.isoformat(),
    }


def _without_empty(body: dict[str, object]) -> dict[str, object]:
    """Top-level fields that do not apply are left out (an admin's answer has no progress)."""
    return {k: v for k, v in body.items() if v is not None}
