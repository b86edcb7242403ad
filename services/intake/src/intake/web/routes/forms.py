"""The HTML form: GET /showcases/new and POST /showcases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from showcase_common.events import new_id
from showcase_common.index.models import Location, User

from intake import access, metrics
from intake.db_lanes import Database
from intake.idempotency import Idempotency, body_digest
from intake.mail import notice_for
from intake.models import MAX_ID
from intake.route_deps import RouteDeps
from intake.showcases import FIELDS, Draft, Invalid, derive_key, safe_return_to
from intake.use_cases import Forbidden
from intake.web import csrf
from intake.web.deps import CurrentUser, Deps
from intake.web.openapi import (
    BODY_ERRORS,
    CROSS_FIELD_RULES,
    FORM_BODY,
    FORM_RULES,
    FORM_TOKEN_PATTERN,
)
from intake.web.presenters import events_path, with_notice

router = APIRouter(tags=["form"])
FLASH_COOKIE = "flash"


def _locations(db: Database, user: User) -> list[Location]:
    with db.session() as session:
        return access.requestable(session, user)


@dataclass
class FormPage:
    """What differs between the general form and a studio's own (`/studios/{key}/request`)."""

    action: str = "/showcases"
    location: Location | None = None
    """The studio, fixed (the studio's form); None: the user chooses among theirs."""
    existing: list[tuple[int | None, list[dict[str, str]]]] = field(default_factory=list)
    back_link: str | None = None
    return_to: str | None = None
    """Where an admin's POST lands (the studio's form: a same-site URL, the Rails app's way)."""


def address_preview(deps: RouteDeps, values: dict[str, str], key_of: str | None) -> str:
    """The address the showcase will have, as far as the values tell (shown under Advanced)."""
    key = (values.get("key") or "").strip() or derive_key(values.get("name", ""))
    year = (values.get("year") or "").strip() or (values.get("start_date") or "")[:4]
    if not (key and year and key_of):
        return "(fill in the name and the start date)"
    return f"{deps.settings.public_fleet_url.rstrip('/')}/showcase/{year}/{key_of}/{key}/"


async def _form(
    http: Request,
    deps: Deps,
    user: User,
    values: dict[str, str],
    errors: dict[str, str],
    code: int = 200,
    refusal: str = "invalid",
    form_token: str | None = None,
    page: FormPage | None = None,
) -> HTMLResponse:
    page = page or FormPage()
    locations = await deps.db.read(_locations, deps.db, user)
    chosen = page.location or next(
        (loc for loc in locations if str(loc.id) == values.get("location_id")),
        locations[0] if locations else None,
    )
    context: dict[str, Any] = {
        "refusal": refusal,
        "user": user,
        "is_admin": access.is_admin(user),
        "locations": locations,
        "values": values,
        "errors": errors,
        "csrf_token": deps.csrf.sign(user.userid or ""),
        "form_token": form_token if form_token and FORM_TOKEN.match(form_token) else new_id(),
        "notice": deps.flash.unsign(http.cookies.get(FLASH_COOKIE), max_age_s=300),
        "fleet_url": deps.settings.public_fleet_url,
        "address_preview": address_preview(deps, values, chosen.key if chosen else None),
        "form_action": page.action,
        "fixed_location": page.location,
        "existing": page.existing,
        "back_link": page.back_link,
        "heading": f"New showcase for {page.location.name}" if page.location else None,
        "submit_label": "Create Event" if page.location else None,
        "past_showcases": await deps.db.read(deps.use_cases.past_showcases, user),
    }
    return deps.templates.TemplateResponse(http, "new.html", context, status_code=code)


@router.get(
    "/showcases/new",
    response_class=HTMLResponse,
    responses={404: {"description": "`template` names no showcase the user may start from"}},
)
async def new_showcase(
    http: Request,
    deps: Deps,
    user: CurrentUser,
    template: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    """The form; `?template=ID` starts it from a past showcase (next year's occurrence)."""
    values: dict[str, str] = {}
    if template is not None:
        found = await deps.db.read(deps.use_cases.template, user, template)
        if found is None:
            raise HTTPException(404, "no such showcase")
        values = found.form_values()
    given = {k: v for k, v in http.query_params.items() if k in FIELDS and len(v) <= 500}
    values |= given
    if values.get("return_to") and not safe_return_to(values["return_to"]):
        values.pop("return_to")
    return await _form(http, deps, user, values, {})


_POST_RESPONSES: dict[int | str, dict[str, Any]] = {
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
        + " "
        + FORM_RULES
    },
}


@router.post(
    "/showcases",
    response_class=HTMLResponse,
    openapi_extra=FORM_BODY,
    responses=_POST_RESPONSES,
)
async def create_showcase(
    http: Request,
    deps: Deps,
    user: CurrentUser,
) -> Response:
    return await submit(http, deps, user, FormPage())


async def submit(http: Request, deps: RouteDeps, user: User, page: FormPage) -> Response:
    """A form's POST, whichever form sent it: the showcase, then 303 to the request's page (a
    studio) or to where an admin's notice is shown; the form again (422) when refused."""
    form = await http.form()
    values = {k: v for k in FIELDS if isinstance(v := form.get(k), str)}
    if page.location is not None:  # the studio's form: its studio, whatever was posted
        values["location_id"] = str(page.location.id)
        if page.return_to is not None:
            values["return_to"] = page.return_to  # checked by the studio's route
    if not csrf.form_allowed(http, deps.csrf, user.userid or "", form.get("csrf_token")):
        metrics.REFUSALS.labels("csrf").inc()
        return HTMLResponse("Invalid or missing CSRF token: reload the form.", 403)
    draft = Draft(
        name=values.get("name", ""),
        location_id=values.get("location_id"),
        key=values.get("key"),
        year=values.get("year"),
        start_date=values.get("start_date"),
        end_date=values.get("end_date"),
        return_to=None if page.location is not None else values.get("return_to"),
        from_form=True,
    )
    token = form.get("form_token")
    try:
        created = await deps.use_cases.create_showcase(
            user,
            draft,
            form_idempotency(token, values),
        )
    except Invalid as exc:
        form_token = token if isinstance(token, str) else None
        return await _form(http, deps, user, values, exc.errors, 422, exc.reason, form_token, page)
    except Forbidden:
        return HTMLResponse("You may only request showcases for your own studio.", 403)
    if created.request_id is None:
        # The admins' e-mail was committed with the showcase; the mail relay sends it.
        notice = notice_for(created.showcase)
        target = page.return_to or draft.return_to or admin_landing(deps, created.location)
        response = RedirectResponse(with_notice(target, notice), status.HTTP_303_SEE_OTHER)
        response.set_cookie(
            FLASH_COOKIE,
            deps.flash.sign(notice),
            max_age=300,
            httponly=True,
            samesite="lax",
            secure=not deps.settings.showcase_dev_mode,  # https only, but in the local run
        )
        return response
    # Post/redirect/get: a reload, the back button or a bookmark then never submits again.
    return RedirectResponse(f"/requests/{created.request_id}", status.HTTP_303_SEE_OTHER)


def admin_landing(deps: RouteDeps, location: Location) -> str:
    """Where an admin's new showcase is shown: the Rails app's events page of the location when
    RAILS_APP_URL is set (as the Rails app redirects), else intake's own."""
    base = deps.settings.rails_app_url.rstrip("/")
    if base:
        return f"{base}/locations/{location.id}/events"
    return events_path(location)


FORM_TOKEN = re.compile(FORM_TOKEN_PATTERN)


def form_idempotency(token: object, values: dict[str, str]) -> Idempotency | None:
    """The form's own token (a hidden field, one per form shown) with what it holds: the same
    form sent twice (a double click, a re-sent POST) finds what its first sending created; the
    same form changed after Back and sent again is a new request."""
    if not isinstance(token, str) or not FORM_TOKEN.match(token):
        return None
    digest = body_digest({k: v.strip() for k, v in values.items()})
    return Idempotency(f"form:{token}:{digest[:40]}", digest)
