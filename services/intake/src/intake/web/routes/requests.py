"""A request's state (from the gateway's KV bucket) and its retry."""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from showcase_common import events
from showcase_common.audit import OperatorAction
from showcase_common.bus.errors import BusUnavailable
from showcase_common.index.models import User
from showcase_common.progress import RequestProgress

from intake import metrics
from intake.models import RequestsOut, RetryOut
from intake.route_deps import RouteDeps
from intake.use_cases import RequestQuery, RequestView
from intake.web import csrf
from intake.web.deps import CurrentUser, Deps
from intake.web.openapi import TOO_LARGE
from intake.web.presenters import progress_link, request_rows, status_url

log = logging.getLogger(__name__)
Via = Literal["web", "api"]

router = APIRouter(prefix="/api/requests", tags=["requests"])


async def state_of(deps: RouteDeps, view: RequestView) -> RequestProgress:
    """The gateway's state; before it has one (or while NATS is away), what intake recorded:
    the outcome once known, else queued at 0."""
    try:
        state = await deps.pipeline.request_state(view.request.id)
    except BusUnavailable:
        state = None
    return state or recorded_state(view)


def recorded_state(view: RequestView) -> RequestProgress:
    """The request as intake's own row knows it (the gateway's KV bucket may be unreachable)."""
    base = RequestProgress(request_id=view.request.id, user=view.ref.user)
    if view.request.status == "completed":
        return base.model_copy(
            update={
                "status": "completed",
                "progress": 100,
                "step": "done",
                "message": "Your showcase is live",
                "redirect_url": view.ref.redirect_url,
            }
        )
    return base


async def find(deps: RouteDeps, user: User, request_id: str) -> RequestView:
    view = await deps.db.read(deps.use_cases.find_request, user, request_id)
    if view is None:  # unknown, or someone else's: the same answer, so ids cannot be probed
        raise HTTPException(404, "no such request")
    return view


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such request, or another user's"}
}


def _retry_event(ref: events.RequestRef, state: RequestProgress) -> events.Event:
    """To the service that acts on it: machines to the updater, a sync to the syncer."""
    if state.failed_step == "machines":
        return events.MachinesRetryRequested(request=ref, machine_ids=list(state.failed_machines))
    return events.RetryRequested(request=ref, from_step="sync")


async def retry_for(
    deps: RouteDeps, view: RequestView, actor: str = "", via: Via = "api"
) -> RequestProgress:
    """Put the retry of a failed request in the outbox (409 unless it has failed); its state.
    Recorded in the audit trail with the logged-in user who pressed Retry."""
    state = await state_of(deps, view)
    if state.status != "failed":
        raise HTTPException(409, f"only a failed request can be retried (it is {state.status})")
    event = _retry_event(view.ref, state)
    # One retry per failure: a double click re-uses the same outbox row (and Nats-Msg-Id).
    msg_id = f"retry:{view.request.id}:{state.updated_at or 'unknown'}"
    await deps.db.write(deps.use_cases.enqueue, event, msg_id, view.request.id)
    await audit_retry(deps, view, state, actor or view.ref.user, via, msg_id)
    return state


async def audit_retry(
    deps: RouteDeps,
    view: RequestView,
    state: RequestProgress,
    actor: str,
    via: Via,
    msg_id: str,
) -> None:
    """The Retry in the audit trail; the retry itself is safe in the outbox whatever happens
    here, so a bus that is away costs the record (logged), never the retry."""
    action = OperatorAction(
        action="retry",
        actor=actor,
        via=via,
        details={
            "request_id": view.request.id,
            "owner": view.ref.user,
            "from_step": state.failed_step or "sync",
            "machine_ids": list(state.failed_machines),
        },
        # the same failure retried twice (a double click) is one action, like its outbox row
        action_id=hashlib.sha256(msg_id.encode()).hexdigest()[:32],
    )
    try:
        await deps.pipeline.record_action(action)
    except BusUnavailable as exc:
        log.warning("retry of %s not recorded in the audit trail: %s", view.request.id, exc)


@router.get("", name="requests_list", response_model=RequestsOut)
async def list_requests(
    deps: Deps,
    user: CurrentUser,
    state: Annotated[
        str | None,
        Query(
            pattern="^(queued|processing|completed|failed)?$",
            description="only requests in this state (as recorded by intake)",
        ),
    ] = None,
    location: Annotated[
        str | None, Query(max_length=64, description="only this location's (its key)")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RequestsOut:
    """The user's requests, newest first; an admin's list holds everyone's. The same rows as
    the `GET /requests` page."""
    query = RequestQuery(state or None, location or None, page, per_page)
    listing = await deps.db.read(deps.use_cases.list_requests, user, query)
    return RequestsOut(
        requests=await request_rows(deps, listing.views, state_of),
        page=page,
        pages=listing.pages,
        per_page=per_page,
        total=listing.total,
    )


@router.get("/{request_id}", name="request_status", responses=NOT_FOUND)
async def request_status(request_id: str, deps: Deps, user: CurrentUser) -> dict[str, object]:
    view = await find(deps, user, request_id)
    return (await state_of(deps, view)).public()


@router.post(
    "/{request_id}/retry",
    status_code=202,
    response_model=RetryOut,
    responses={
        **NOT_FOUND,
        403: {"description": "sent by another site's page (Sec-Fetch-Site / Origin), no token"},
        409: {"description": "the request has not failed"},
        **TOO_LARGE,
    },
)
async def retry_request(
    request_id: str, http: Request, deps: Deps, user: CurrentUser
) -> JSONResponse:
    """Re-drive a failed request from the step that failed (409 unless it has failed).

    The browser sends HTTP Basic credentials on another site's POST too: a request a browser
    marks cross-site needs the page's CSRF token (`X-CSRF-Token`); scripts and the progress
    page (same origin) need none."""
    token = http.headers.get("x-csrf-token")
    if not csrf.form_allowed(http, deps.csrf, user.userid or "", token):
        metrics.REFUSALS.labels("csrf").inc()
        raise HTTPException(403, "cross-site request without a valid CSRF token")
    view = await find(deps, user, request_id)
    state = await retry_for(deps, view, user.userid or "", "api")
    out = RetryOut(
        request_id=request_id,
        state=state.public(),
        status_url=status_url(http, request_id),
        progress=progress_link(deps, view.ref.user, request_id),
    )
    return JSONResponse(out.model_dump(mode="json"), 202)
