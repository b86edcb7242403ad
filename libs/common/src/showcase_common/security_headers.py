"""The browser-facing headers every HTTP service sends: no framing, no sniffing, a CSP.

One ASGI middleware, `SecurityHeaders`, added by each service with its own Content-Security-Policy:
intake's pages load their scripts and styles from intake itself and open a WebSocket to the
gateway (`page_csp(gateway_origin)`); the agents' prerendered pages have no script at all
(`STATIC_PAGE_CSP`). FastAPI's API docs (`/docs`, `/redoc`) load Swagger/ReDoc from a CDN, so they
get only `frame-ancestors 'none'`.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from showcase_common.urls import origin_of

NO_FRAMING = "frame-ancestors 'none'"
STATIC_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    f"{NO_FRAMING}; base-uri 'none'; form-action 'none'"
)
"""Pages without scripts (the agents'): nothing runs, nothing is fetched but images."""


HSTS = "max-age=31536000"
"""A year; no includeSubDomains: the other apps of the domain are not ours to decide for."""


def page_csp(*connect_to: str) -> str:
    """Scripts and styles from this origin only; fetch/WebSocket to it and to `connect_to` (URLs
    or origins); never framed; forms post only here."""
    connect = " ".join(["'self'", *sorted({o for u in connect_to if (o := origin_of(u))})])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"{NO_FRAMING}"
    )


class SecurityHeaders:
    """Adds the headers to every HTTP response that does not set them itself."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        csp: str,
        docs_paths: Iterable[str] = ("/docs", "/redoc"),
        hsts: bool = False,
    ) -> None:
        """`hsts`: answers to https requests say `Strict-Transport-Security` (a year): the
        browser then never sends credentials or cookies to this host over plain http."""
        self.app = app
        self.csp = csp
        self.docs_paths = tuple(docs_paths)
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        docs = any(path == p or path.startswith(p + "/") for p in self.docs_paths)
        extra = [
            (b"content-security-policy", (NO_FRAMING if docs else self.csp).encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        if self.hsts and scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
