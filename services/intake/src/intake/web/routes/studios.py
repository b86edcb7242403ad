"""The fleet's own entry point: `GET`/`POST /studios/{location_key}/request`, and the same under
`/showcase/` (the fleet's proxy forwards `^/showcase/studios/([a-z]*)/request$` to the index
server). The Rails app's `showcases#new_request`: the form for that one studio, its existing
events beside it (newest year first, in their order), a link back to the studio's page, and
`return_to` — a same-site URL (a path, or a URL on the fleet's public origin), defaulting to the
studio's page. The POST behaves as `POST /showcases`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from showcase_common.index.models import Location, Showcase, User
from showcase_common.urls import origin_of
from sqlmodel import col, select

from intake import access
from intake.route_deps import RouteDeps
from intake.showcases import RETURN_TO_MAX, fleet_page_path, safe_return_to
from intake.web.deps import CurrentUser, Deps
from intake.web.openapi import FORM_BODY
from intake.web.routes.forms import _POST_RESPONSES, FormPage, _form, submit

router = APIRouter(tags=["form"])

_NOT_YOURS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the user may not request showcases for this studio"},
    404: {"description": "no such studio"},
}


def _studio(
    deps: RouteDeps, user: User, key: str
) -> tuple[Location | None, bool, list[tuple[int | None, list[dict[str, str]]]]]:
    """The studio, whether `user` may act for it, and its events grouped by year."""
    with deps.db.session() as session:
        location = session.exec(select(Location).where(Location.key == key)).first()
        if location is None:
            return None, False, []
        allowed = access.may_request_for(session, user, location)
        shows = session.exec(
            select(Showcase)
            .where(Showcase.location_id == location.id)
            .order_by(col(Showcase.year).desc(), col(Showcase.order), col(Showcase.id))
        ).all()
        fleet = deps.settings.public_fleet_url.rstrip("/")
        rows = [
            (
                show.year,
                {
                    "name": show.name or "",
                    "date": show.date or "",
                    "url": fleet + fleet_page_path(session, show, location),
                },
            )
            for show in shows
        ]
    grouped = [(year, [row for _, row in group]) for year, group in groupby(rows, lambda r: r[0])]
    return location, allowed, grouped


def studio_page(deps: RouteDeps, location: Location) -> str:
    return f"{deps.settings.public_fleet_url.rstrip('/')}/showcase/studios/{location.key}/"


def return_to_of(deps: RouteDeps, given: str | None, location: Location) -> str:
    """`return_to` as the Rails app honours it, limited to this site: a path, or a URL on the
    fleet's public origin; anything else (another site, a `javascript:` URL) is the default,
    the studio's page."""
    value = (given or "").strip()
    if value and len(value) <= RETURN_TO_MAX:
        if safe_return_to(value):
            return value
        fleet = origin_of(deps.settings.public_fleet_url)
        if fleet and origin_of(value) == fleet and all(ch.isprintable() for ch in value):
            return value
    return studio_page(deps, location)


async def _page(
    http: Request, deps: RouteDeps, user: User, location_key: str
) -> tuple[Location, FormPage]:
    location, allowed, existing = await deps.db.read(_studio, deps, user, location_key[:64])
    if location is None:
        raise HTTPException(404, "no such studio")
    if not allowed:
        raise HTTPException(403, "you may only request showcases for your own studio")
    return_to = return_to_of(deps, http.query_params.get("return_to"), location)
    if http.method == "POST":
        form = await http.form()
        posted = form.get("return_to")
        return_to = return_to_of(deps, posted if isinstance(posted, str) else None, location)
    page = FormPage(
        action=http.url.path,
        location=location,
        existing=existing,
        back_link=return_to,
        return_to=return_to,
    )
    return location, page


PATHS: Sequence[str] = (
    "/studios/{location_key}/request",
    "/showcase/studios/{location_key}/request",
)


async def studio_form(
    location_key: str, http: Request, deps: Deps, user: CurrentUser
) -> HTMLResponse:
    """The form for one studio, its events beside it (the Rails app's `new_request`)."""
    _location, page = await _page(http, deps, user, location_key)
    assert page.return_to is not None
    values = {"return_to": page.return_to}
    return await _form(http, deps, user, values, {}, page=page)


async def studio_submit(
    location_key: str, http: Request, deps: Deps, user: CurrentUser
) -> Response:
    """As `POST /showcases`, for this studio."""
    _location, page = await _page(http, deps, user, location_key)
    return await submit(http, deps, user, page)


for _path in PATHS:
    router.add_api_route(
        _path,
        studio_form,
        methods=["GET"],
        response_class=HTMLResponse,
        responses=_NOT_YOURS,
        name="studio_form" if _path.startswith("/studios") else "studio_form_proxied",
        operation_id="studio_form" if _path.startswith("/studios") else "studio_form_proxied",
    )
    router.add_api_route(
        _path,
        studio_submit,
        methods=["POST"],
        response_class=HTMLResponse,
        responses={**_POST_RESPONSES, **_NOT_YOURS},
        openapi_extra=FORM_BODY,
        name="studio_submit" if _path.startswith("/studios") else "studio_submit_proxied",
        operation_id="studio_submit" if _path.startswith("/studios") else "studio_submit_proxied",
    )
