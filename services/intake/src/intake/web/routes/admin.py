"""The admin page (`GET /admin`): requests waiting, running and failed (with Retry), the fleet's
generation per machine, the pause and the pin with their reasons, the last operator actions,
and the admins' showcases not yet live with what Apply would change. Admins only (403 for
anyone else). It updates itself by polling `GET /admin/status.json`, which also serves scripts.

The buttons are forms (CSRF-checked like intake's others, working without JavaScript), each
recorded in the audit trail with the logged-in admin as actor: Pause and Resume run
`showcase_common.operator_actions` (as `showcasectl pause`/`resume` do), Retry is the studio's
(`retry_for`), Apply starts a tracked roll-out (`intake.admin_apply`) and lands on its
progress page.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from showcase_common import operator_actions
from showcase_common.audit import OperatorAction
from showcase_common.bus.errors import BusUnavailable
from showcase_common.index.models import User

from intake import access, metrics
from intake.admin_apply import Applied, NothingToApply
from intake.route_deps import RouteDeps
from intake.use_cases import RequestQuery
from intake.web import csrf
from intake.web.admin_view import AdminPage, admin_page
from intake.web.deps import CurrentUser, Deps
from intake.web.presenters import summary
from intake.web.routes.forms import FLASH_COOKIE
from intake.web.routes.requests import find, retry_for, state_of

log = logging.getLogger(__name__)

router = APIRouter(prefix="/admin", tags=["admin"])

ACTIONS_SHOWN = 10
REQUESTS_SHOWN = 50
"""Of each state; the requests page (`/requests?state=…`) lists them all."""
SECTIONS = ("fleet", "requests", "pending", "actions")
"""The parts of the page that update live (each a template `admin/_NAME.html`)."""


async def admin_user(user: CurrentUser) -> User:
    if not access.is_admin(user):
        metrics.REFUSALS.labels("not_admin").inc()
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins may open the admin page")
    return user


AdminUser = Annotated[User, Depends(admin_user)]
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: {"description": "not an admin"}}


async def gather(deps: RouteDeps, admin: User) -> AdminPage:
    """Everything the page shows, read at once."""
    requests, (reading, bus_error), machines, pending = await asyncio.gather(
        _requests(deps, admin),
        _reading(deps),
        deps.fleet.machines(),
        deps.db.read(deps.admin_apply.pending),
    )
    return admin_page(requests, reading, machines, pending, bus_error)


async def _requests(deps: RouteDeps, admin: User) -> list[Any]:
    views = []
    for state in ("queued", "processing", "failed"):
        query = RequestQuery(state=state, per_page=REQUESTS_SHOWN)
        views += (await deps.db.read(deps.use_cases.list_requests, admin, query)).views
    states = await asyncio.gather(*(state_of(deps, view) for view in views))
    return [(summary(view, s), s) for view, s in zip(views, states, strict=True)]


async def _reading(deps: RouteDeps) -> tuple[Any, str | None]:
    try:
        return await deps.fleet.read(ACTIONS_SHOWN), None
    except BusUnavailable as exc:
        log.warning("admin page: %s", exc)
        return (
            None,
            f"NATS cannot be reached ({exc}): the pause, the pin and the actions are unknown",
        )


def _context(http: Request, deps: RouteDeps, admin: User, page: AdminPage) -> dict[str, Any]:
    return {
        "user": admin,
        "page": page,
        "csrf_token": deps.csrf.sign(admin.userid or ""),
        "poll_s": deps.settings.admin_poll_s,
        "notice": deps.flash.unsign(http.cookies.get(FLASH_COOKIE), max_age_s=60),
    }


@router.get("", name="admin_page", response_class=HTMLResponse, responses=FORBIDDEN)
async def admin_page_html(http: Request, deps: Deps, admin: AdminUser) -> Response:
    page = await gather(deps, admin)
    context = _context(http, deps, admin, page)
    response = deps.templates.TemplateResponse(http, "admin/page.html", context)
    response.delete_cookie(FLASH_COOKIE)  # shown once
    return response


@router.get("/status.json", name="admin_status", responses=FORBIDDEN)
async def admin_status(http: Request, deps: Deps, admin: AdminUser) -> JSONResponse:
    """The page's content as JSON, with each live section's HTML (the page's script swaps
    them in)."""
    page = await gather(deps, admin)
    context = _context(http, deps, admin, page) | {"notice": None}
    html = {
        name: deps.templates.get_template(f"admin/_{name}.html").render(context)
        for name in SECTIONS
    }
    return JSONResponse(page.as_json() | {"html": html}, headers={"Cache-Control": "no-store"})


async def _checked_form(http: Request, deps: RouteDeps, admin: User) -> dict[str, str]:
    form = await http.form()
    if not csrf.form_allowed(http, deps.csrf, admin.userid or "", form.get("csrf_token")):
        metrics.REFUSALS.labels("csrf").inc()
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "invalid or missing CSRF token: reload the page"
        )
    return {k: v.strip()[:1000] for k, v in form.items() if isinstance(v, str)}


def _back(deps: RouteDeps, notice: str, target: str = "/admin") -> RedirectResponse:
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        FLASH_COOKIE,
        deps.flash.sign(notice),
        max_age=60,
        httponly=True,
        samesite="lax",
        secure=not deps.settings.showcase_dev_mode,
    )
    return response


BUTTON: dict[int | str, dict[str, Any]] = {
    **FORBIDDEN,
    303: {"description": "back to the admin page, which says what happened"},
    503: {"description": "NATS cannot be reached: nothing changed"},
}


def _recorder(deps: RouteDeps) -> operator_actions.Record:
    """Records in the audit trail; the pause has changed by then, so a bus gone in between
    costs the record (logged), and the page does not claim nothing changed."""

    async def record(action: OperatorAction) -> None:
        try:
            await deps.pipeline.record_action(action)
        except BusUnavailable as exc:
            log.warning(
                "%s by %s not recorded in the audit trail: %s", action.action, action.actor, exc
            )

    return record


@router.post("/pause", status_code=303, responses=BUTTON)
async def pause(http: Request, deps: Deps, admin: AdminUser) -> Response:
    """Pause roll-outs (syncs go on, requests wait), recorded with the admin as actor."""
    form = await _checked_form(http, deps, admin)
    outcome = await _unavailable_is_503(
        operator_actions.pause(
            deps.fleet, _recorder(deps), admin.userid or "", form.get("reason", ""), "web"
        )
    )
    return _back(deps, _sentence(outcome.message))


@router.post("/resume", status_code=303, responses=BUTTON)
async def resume(http: Request, deps: Deps, admin: AdminUser) -> Response:
    """Resume roll-outs, recorded with the admin as actor (not paused: said, nothing changed)."""
    form = await _checked_form(http, deps, admin)
    outcome = await _unavailable_is_503(
        operator_actions.resume(
            deps.fleet, _recorder(deps), admin.userid or "", form.get("reason", ""), "web"
        )
    )
    return _back(deps, _sentence(outcome.message))


@router.post(
    "/requests/{request_id}/retry",
    status_code=303,
    responses={
        **BUTTON,
        404: {"description": "no such request"},
        409: {"description": "not failed"},
    },
)
async def retry(request_id: str, http: Request, deps: Deps, admin: AdminUser) -> Response:
    """The studio's Retry, pressed by an admin (recorded with the admin as actor)."""
    await _checked_form(http, deps, admin)
    view = await find(deps, admin, request_id)
    await retry_for(deps, view, admin.userid or "", "web")
    return _back(deps, f"Retrying {view.showcase.name} ({view.location.name}).")


@router.post(
    "/apply",
    status_code=303,
    responses={
        **BUTTON,
        303: {
            "description": "to the roll-out's progress page (back to the admin page when "
            "there is nothing to apply)"
        },
    },
)
async def apply(http: Request, deps: Deps, admin: AdminUser) -> Response:
    """Roll the index out now, as a tracked request; recorded as `apply` with the admin."""
    form = await _checked_form(http, deps, admin)
    try:
        applied = await deps.db.write(deps.admin_apply.apply, admin)
    except NothingToApply as exc:
        return _back(deps, f"Nothing to apply: {exc}.")
    await _audit_apply(deps, admin, applied, form.get("reason", ""))
    return RedirectResponse(f"/requests/{applied.request.id}", status.HTTP_303_SEE_OTHER)


async def _audit_apply(deps: RouteDeps, admin: User, applied: Applied, reason: str) -> None:
    """The request is safe in the outbox whatever happens here: a bus that is away costs the
    record (logged), never the roll-out. One record per request (a second press finds it)."""
    action = OperatorAction(
        action="apply",
        actor=admin.userid or "",
        reason=reason,
        via="web",
        details={
            "request_id": applied.request.id,
            "showcase": f"{applied.showcase.year}/{applied.location.key}/{applied.showcase.key}",
            **applied.diff.counts(),
        },
        action_id=hashlib.sha256(f"apply:{applied.request.id}".encode()).hexdigest()[:32],
    )
    try:
        await deps.pipeline.record_action(action)
    except BusUnavailable as exc:
        log.warning("apply %s not recorded in the audit trail: %s", applied.request.id, exc)


async def _unavailable_is_503(
    work: Coroutine[Any, Any, operator_actions.Outcome],
) -> operator_actions.Outcome:
    try:
        return await work
    except BusUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"NATS cannot be reached, nothing changed: try again in a moment ({exc})",
        ) from None


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
