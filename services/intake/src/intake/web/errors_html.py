"""Errors as pages for browsers: a 404 (or any other HTTP error) on a page a person opened
answers an HTML page that says what happened and where to go, not the API's JSON.

Only for a request that asks for HTML (`Accept: text/html`, as browsers send) outside `/api/`;
API clients and curl keep the JSON body. The error's headers (a 401's Basic challenge,
a 429's Retry-After) are kept.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

TITLES = {
    401: ("Please log in", "This page needs your studio login."),
    403: ("Not allowed", "Your login may not do this."),
    404: ("Page not found", "There is no such page, or it belongs to another studio."),
    409: ("Not possible now", "This cannot be done in the request's current state."),
    429: ("Too many attempts", "Wait a little, then try again."),
}


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not request.url.path.startswith("/api/")


def install(app: FastAPI, templates: Jinja2Templates) -> None:
    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not wants_html(request):
            return await http_exception_handler(request, exc)
        title, message = TITLES.get(exc.status_code, ("Something went wrong", str(exc.detail)))
        context = {"title": title, "message": message, "notice": None}
        return templates.TemplateResponse(
            request, "error.html", context, status_code=exc.status_code, headers=exc.headers
        )

    app.add_exception_handler(StarletteHTTPException, handler)
