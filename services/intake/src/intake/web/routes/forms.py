"""The HTML form: GET /showcases/new and POST /showcases."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from showcase_common.events import new_id
from showcase_common.index.models import Location, User

from intake import access, metrics
from intake.db import Database
from intake.mail import notice_for
from intake.service import Forbidden, Idempotency, body_digest
from intake.showcases import FIELDS, Draft, Invalid, safe_return_to
from intake.web import csrf
from intake.web.deps import ContainerDep, CurrentUser
from intake.web.openapi import BODY_ERRORS, CROSS_FIELD_RULES, FORM_BODY
from intake.web.presenters import events_path, with_notice

router = APIRouter(tags=["form"])
FLASH_COOKIE = "flash"


def _locations(db: Database, user: User) -> list[Location]:
    with db.session() as session:
        return access.requestable(session, user)


async def _form(
    http: Request,
    container: ContainerDep,
    user: User,
    values: dict[str, str],
    errors: dict[str, str],
    code: int = 200,
    refusal: str = "invalid",
    form_token: str | None = None,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "refusal": refusal,
        "user": user,
        "locations": await container.db.read(_locations, container.db, user),
        "values": values,
        "errors": errors,
        "csrf_token": container.csrf.sign(user.userid or ""),
        "form_token": form_token if form_token and FORM_TOKEN.match(form_token) else new_id(),
        "notice": container.flash.unsign(http.cookies.get(FLASH_COOKIE), max_age_s=300),
    }
    return container.templates.TemplateResponse(http, "new.html", context, status_code=code)


@router.get("/showcases/new", response_class=HTMLResponse)
async def new_showcase(http: Request, container: ContainerDep, user: CurrentUser) -> HTMLResponse:
    values = {k: v for k, v in http.query_params.items() if k in FIELDS and len(v) <= 500}
    if values.get("return_to") and not safe_return_to(values["return_to"]):
        values.pop("return_to")
    return await _form(http, container, user, values, {})


@router.post(
    "/showcases",
    response_class=HTMLResponse,
    openapi_extra=FORM_BODY,
    responses={
        303: {
            "description": "a studio's request: to its progress page `/requests/{id}` (the same"
            " one when the same form is sent twice); an admin's showcase: to the location's"
            " events page (or return_to)"
        },
        403: {"description": "a bad CSRF token, or a location the user may not request for"},
        **BODY_ERRORS,
        422: {
            "description": "the form again, a message per field (also when `location_id` names"
            " no location, or `name`/`key` is taken in that location and year). "
            + CROSS_FIELD_RULES
        },
    },
)
async def create_showcase(
    http: Request,
    container: ContainerDep,
    user: CurrentUser,
) -> Response:
    form = await http.form()
    values = {k: v for k in FIELDS if isinstance(v := form.get(k), str)}
    if not csrf.form_allowed(http, container.csrf, user.userid or "", form.get("csrf_token")):
        metrics.REFUSALS.labels("csrf").inc()
        return HTMLResponse("Invalid or missing CSRF token: reload the form.", 403)
    draft = Draft(
        name=values.get("name", ""),
        location_id=values.get("location_id"),
        key=values.get("key"),
        year=values.get("year"),
        start_date=values.get("start_date"),
        end_date=values.get("end_date"),
        return_to=values.get("return_to"),
    )
    try:
        created = await container.db.write(
            container.service.create_showcase,
            user,
            draft,
            form_idempotency(form.get("form_token"), values),
        )
    except Invalid as exc:
        token = form.get("form_token")
        return await _form(
            http,
            container,
            user,
            values,
            exc.errors,
            422,
            exc.reason,
            token if isinstance(token, str) else None,
        )
    except Forbidden:
        return HTMLResponse("You may only request showcases for your own studio.", 403)
    if created.request is None:
        # The admins' e-mail was committed with the showcase; the mail relay sends it.
        target = with_notice(
            draft.return_to or events_path(created.location), notice_for(created.showcase)
        )
        response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
        response.set_cookie(
            FLASH_COOKIE,
            container.flash.sign(notice_for(created.showcase)),
            max_age=300,
            httponly=True,
            samesite="lax",
        )
        return response
    # Post/redirect/get: a reload, the back button or a bookmark then never submits again.
    return RedirectResponse(f"/requests/{created.request.id}", status.HTTP_303_SEE_OTHER)


FORM_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def form_idempotency(token: object, values: dict[str, str]) -> Idempotency | None:
    """The form's own token (a hidden field, one per form shown) with what it holds: the same
    form sent twice (a double click, a re-sent POST) finds what its first sending created; the
    same form changed after Back and sent again is a new request."""
    if not isinstance(token, str) or not FORM_TOKEN.match(token):
        return None
    digest = body_digest({k: v.strip() for k, v in values.items()})
    return Idempotency(f"form:{token}:{digest[:40]}", digest)
