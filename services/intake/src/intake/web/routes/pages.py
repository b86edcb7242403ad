"""The studio's pages about its requests: one request's progress page (`GET /requests/{id}`,
where the form's POST lands), the list of requests (`GET /requests`), and the Retry of a failed
request from a page without JavaScript (`POST /requests/{id}/retry`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from showcase_common.index.models import User
from showcase_common.urls import origin_of

from intake import access, metrics
from intake.route_deps import RouteDeps
from intake.use_cases import RequestQuery, RequestView
from intake.web import csrf
from intake.web.deps import CurrentUser, Deps
from intake.web.presenters import (
    RequestRow,
    events_path,
    progress_link,
    request_rows,
    showcase_dates,
    status_url,
)
from intake.web.routes.requests import NOT_FOUND, find, retry_for, state_of

router = APIRouter(tags=["pages"])

STATES = ("queued", "processing", "completed", "failed")
PER_PAGE = 20


@router.get(
    "/requests/{request_id}",
    name="request_page",
    response_class=HTMLResponse,
    responses=NOT_FOUND,
)
async def request_page(
    request_id: str, http: Request, deps: Deps, user: CurrentUser
) -> HTMLResponse:
    """A request's progress page: where the form's POST sends the browser (303). Safe to
    reload, bookmark or come back to; it shows the outcome once there is one."""
    view = await find(deps, user, request_id)
    state = await state_of(deps, view)
    start, end = showcase_dates(view.showcase)
    context: dict[str, Any] = {
        "user": user,
        "view": view,
        "showcase": view.showcase,
        "location": view.location,
        "start_date": start,
        "end_date": end,
        "state": state,
        "request_id": view.request.id,
        "progress_url": progress_link(deps, view.ref.user, view.request.id).ws_url,
        "status_url": status_url(http, view.request.id),
        "redirect_url": view.ref.redirect_url,
        "events_path": events_path(view.location),
        # where the page may send the browser (besides intake itself): the fleet's pages
        "allowed_origins": origin_of(deps.settings.public_fleet_url),
        "csrf_token": deps.csrf.sign(user.userid or ""),
    }
    return deps.templates.TemplateResponse(http, "progress.html", context)


@router.post(
    "/requests/{request_id}/retry",
    response_class=RedirectResponse,
    status_code=303,
    responses={
        **NOT_FOUND,
        303: {"description": "back to the request's page, which follows the retry"},
        403: {"description": "a bad CSRF token"},
        409: {"description": "the request has not failed"},
    },
)
async def retry_from_page(
    request_id: str, http: Request, deps: Deps, user: CurrentUser
) -> Response:
    """The failed page's Retry button when JavaScript is off (the script uses the JSON API)."""
    form = await http.form()
    if not csrf.form_allowed(http, deps.csrf, user.userid or "", form.get("csrf_token")):
        metrics.REFUSALS.labels("csrf").inc()
        return HTMLResponse("Invalid or missing CSRF token: reload the page.", 403)
    view = await find(deps, user, request_id)
    await retry_for(deps, view, user.userid or "", "web")
    return RedirectResponse(f"/requests/{request_id}", status.HTTP_303_SEE_OTHER)


StateFilter = Annotated[str | None, Query(pattern="^(queued|processing|completed|failed)?$")]
LocationFilter = Annotated[str | None, Query(max_length=64)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]


def request_query(state: str | None, location: str | None, page: int, user: User) -> RequestQuery:
    """The query as given; a regular user's list is always their own (`location` narrows it)."""
    return RequestQuery(
        state=state or None, location=location or None, page=page, per_page=PER_PAGE
    )


@router.get("/requests", name="requests_page", response_class=HTMLResponse)
async def requests_page(
    http: Request,
    deps: Deps,
    user: CurrentUser,
    state: StateFilter = None,
    location: LocationFilter = None,
    page: PageNumber = 1,
) -> HTMLResponse:
    """The user's requests, newest first (an admin's: everyone's), each linking to its page."""
    query = request_query(state, location, page, user)
    listing = await deps.db.read(deps.use_cases.list_requests, user, query)
    rows: list[RequestRow] = await request_rows(deps, listing.views, state_of)
    context: dict[str, Any] = {
        "user": user,
        "is_admin": access.is_admin(user),
        "rows": rows,
        "listing": listing,
        "query": query,
        "states": STATES,
        "locations": await deps.db.read(_location_keys, deps, user),
    }
    return deps.templates.TemplateResponse(http, "requests.html", context)


def _location_keys(deps: RouteDeps, user: User) -> list[tuple[str, str]]:
    with deps.db.session() as session:
        return [(loc.key or "", loc.name or "") for loc in access.requestable(session, user)]


__all__ = ["RequestView", "router"]


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    """The site's root: to the list of one's requests (which links to the form)."""
    return RedirectResponse("/requests", status.HTTP_303_SEE_OTHER)
