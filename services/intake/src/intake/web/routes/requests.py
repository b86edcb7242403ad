"""A request's state (from the gateway's KV bucket) and its retry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from showcase_common import events
from showcase_common.progress import RequestProgress

from intake.container import Container
from intake.models import RetryOut
from intake.ports import BusUnavailable
from intake.service import RequestView
from intake.web.deps import ContainerDep, CurrentUser
from intake.web.openapi import TOO_LARGE
from intake.web.presenters import progress_link, status_url

router = APIRouter(prefix="/api/requests", tags=["requests"])


async def _state(container: Container, view: RequestView) -> RequestProgress:
    """The gateway's state; before it has one (or while NATS is away), queued at 0."""
    try:
        state = await container.bus.request_state(view.request.id)
    except BusUnavailable:
        state = None
    return state or RequestProgress(request_id=view.request.id, user=view.ref.user)


async def _find(container: Container, user: CurrentUser, request_id: str) -> RequestView:
    view = await container.db.read(container.service.find_request, user, request_id)
    if view is None:  # unknown, or someone else's: the same answer, so ids cannot be probed
        raise HTTPException(404, "no such request")
    return view


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such request, or another user's"}
}


def _retry_event(ref: events.RequestRef, state: RequestProgress) -> events.Event:
    """To the service that acts on it: machines to the updater, a sync to the syncer."""
    if state.failed_step == "machines":
        return events.MachinesRetryRequested(request=ref, machine_ids=list(state.failed_machines))
    return events.RetryRequested(request=ref, from_step="sync")


@router.get("/{request_id}", name="request_status", responses=_NOT_FOUND)
async def request_status(
    request_id: str, container: ContainerDep, user: CurrentUser
) -> dict[str, object]:
    view = await _find(container, user, request_id)
    return (await _state(container, view)).public()


@router.post(
    "/{request_id}/retry",
    status_code=202,
    response_model=RetryOut,
    responses={**_NOT_FOUND, 409: {"description": "the request has not failed"}, **TOO_LARGE},
)
async def retry_request(
    request_id: str, http: Request, container: ContainerDep, user: CurrentUser
) -> JSONResponse:
    """Re-drive a failed request from the step that failed (409 unless it has failed)."""
    view = await _find(container, user, request_id)
    state = await _state(container, view)
    if state.status != "failed":
        raise HTTPException(409, f"only a failed request can be retried (it is {state.status})")
    event = _retry_event(view.ref, state)
    # One retry per failure: a double click re-uses the same outbox row (and Nats-Msg-Id).
    msg_id = f"retry:{request_id}:{state.updated_at or 'unknown'}"
    await container.db.write(container.service.enqueue, event, msg_id, request_id)
    out = RetryOut(
        request_id=request_id,
        state=state.public(),
        status_url=status_url(http, request_id),
        progress=progress_link(container, view.ref.user, request_id),
    )
    return JSONResponse(out.model_dump(mode="json"), 202)
