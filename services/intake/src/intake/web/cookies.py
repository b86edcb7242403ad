"""Cookies that dependencies set, and the attributes every intake cookie gets.

A route that returns its own Response (a template, a redirect) drops the headers a dependency
set on FastAPI's temporary one, so a dependency (the login check's "known device" cookie) puts
its cookie in the request's state with `set_later` and `LaterCookies` adds it to whatever
answer goes out.

Outside the local development run every cookie is `Secure` (sent over https only); all are
`HttpOnly` and `SameSite=Lax`.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STATE_KEY = "later_cookies"


def cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> str:
    """A Set-Cookie value with intake's attributes."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["max-age"] = max_age
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def set_later(request: Request, name: str, value: str, *, max_age: int, secure: bool) -> None:
    """Have `LaterCookies` set this cookie on the answer to `request`."""
    pending: list[str] = request.scope.setdefault("state", {}).setdefault(_STATE_KEY, [])
    pending.append(cookie_header(name, value, max_age=max_age, secure=secure))


class LaterCookies:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        state = scope.setdefault("state", {})  # one dict, even if an inner layer copies scope

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                pending: list[str] = state.get(_STATE_KEY, [])
                extra = [(b"set-cookie", value.encode("latin-1")) for value in pending]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cookies)
