"""GET /locations/{key}/events: a location's showcases as the index holds them, for the users
who may act for that location (`intake.access`; admins: every location)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from showcase_common.index.models import Location, Showcase, User
from sqlmodel import col, select

from intake import access
from intake.db_lanes import Database
from intake.web.deps import CurrentUser, Deps
from intake.web.routes.forms import FLASH_COOKIE

router = APIRouter(tags=["form"])
NOTICE_SUFFIX = " was successfully created."


def _notice(http: Request, deps: Deps, showcases: list[Showcase]) -> str | None:
    """The flash cookie's notice, or the query's when it names a showcase shown here.

    Checking the name keeps the query parameter from carrying arbitrary text onto the page.
    """
    flashed = deps.flash.unsign(http.cookies.get(FLASH_COOKIE), max_age_s=300)
    if flashed:
        return flashed
    notice = http.query_params.get("notice", "")
    names = {s.name for s in showcases}
    if notice.endswith(NOTICE_SUFFIX) and notice.removesuffix(NOTICE_SUFFIX) in names:
        return notice
    return None


def _location_and_showcases(
    db: Database, key: str, user: User
) -> tuple[Location | None, list[Showcase]]:
    """The location and its showcases, if `user` may act for it (admins: any); else none, so
    another studio's events cannot be listed (nor told apart from a missing location)."""
    with db.session() as session:
        location = session.exec(select(Location).where(Location.key == key)).first()
        if location is None or not access.may_request_for(session, user, location):
            return None, []
        statement = (
            select(Showcase)
            .where(Showcase.location_id == location.id)
            .order_by(col(Showcase.year).desc(), col(Showcase.order), col(Showcase.id))
        )
        return location, list(session.exec(statement))


@router.get(
    "/locations/{location_key}/events",
    response_class=HTMLResponse,
    responses={404: {"description": "no such location, or one the user may not act for"}},
)
async def location_events(
    location_key: str,
    http: Request,
    deps: Deps,
    user: CurrentUser,
) -> HTMLResponse:
    location, showcases = await deps.db.read(
        _location_and_showcases, deps.db, location_key[:64], user
    )
    if location is None:
        raise HTTPException(404, "no such location")
    context = {
        "user": user,
        "location": location,
        "showcases": showcases,
        "notice": _notice(http, deps, showcases),
    }
    response = deps.templates.TemplateResponse(http, "events.html", context)
    if FLASH_COOKIE in http.cookies:
        response.delete_cookie(FLASH_COOKIE)
    return response
