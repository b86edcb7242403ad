"""The HTML form: GET /showcases/new and POST /showcases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from showcase_common.index.models import Location, User
from showcase_common.urls import origin_of

from intake import access, metrics
from intake.db import Database
from intake.mail import notice_for
from intake.service import Forbidden
from intake.showcases import FIELDS, Draft, Invalid, safe_return_to
from intake.web import csrf
from intake.web.deps import ContainerDep, CurrentUser
from intake.web.openapi import BODY_ERRORS, CROSS_FIELD_RULES, FORM_BODY
from intake.web.presenters import (
    events_path,
    progress_link,
    status_url,
    with_notice,
)

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
) -> HTMLResponse:
    context: dict[str, Any] = {
        "refusal": refusal,
        "user": user,
        "locations": await container.db.read(_locations, container.db, user),
        "values": values,
        "errors": errors,
        "csrf_token": container.csrf.sign(user.userid or ""),
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
        200: {"description": "a studio's request: its progress page"},
        303: {"description": "an admin's showcase: to the location's events page (or return_to)"},
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
        created = await container.db.write(container.service.create_showcase, user, draft)
    except Invalid as exc:
        return await _form(http, container, user, values, exc.errors, 422, exc.reason)
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
    request_id = created.request.id
    context = {
        "showcase": created.showcase,
        "location": created.location,
        "request_id": request_id,
        "progress_url": progress_link(container, user.userid or "", request_id).ws_url,
        "status_url": status_url(http, request_id),
        "redirect_url": container.service.redirect_url_of(created),
        # where the page may send the browser (besides intake itself): the fleet's pages
        "allowed_origins": origin_of(container.settings.public_fleet_url),
    }
    return container.templates.TemplateResponse(http, "progress.html", context)
