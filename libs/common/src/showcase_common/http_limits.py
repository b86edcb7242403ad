"""Refuse a request body before reading it: one pure-ASGI middleware for every HTTP service.

A `Content-Length` over the cap is answered 413 before a byte of the body is read. A streamed
(chunked) body is counted as the app reads it, and the read that passes the cap raises, so a
client can never make a service hold more than the cap in memory. The cap is per path (exact
match) with one for the rest of the app. Refusals close the connection: the unread rest of the
body is never read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware", "BodyTooLarge", "header", "send_json"]


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing lets it through as the 413 it is."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large", headers={"Connection": "close"})


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (`name` in lower case), or None."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])  # a Scope's values are Any
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


async def send_json(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A whole JSON answer `{"detail": …}` that closes the connection (the body is unread)."""
    body = json.dumps({"detail": detail}).encode()
    all_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for a body over its path's cap, whether announced by Content-Length or streamed.

    `on_refused` is called once per refused request (a service counts it in its metrics).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        per_path: Mapping[str, int] | None = None,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})
        self.on_refused = on_refused or (lambda: None)

    def cap(self, path: str) -> int:
        return self.per_path.get(path, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap(scope["path"])
        length = header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            self.on_refused()
            await send_json(send, 413, "request body too large")
            return
        await self._counted(scope, receive, send, cap)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    self.on_refused()  # counted here: the app may answer the 413 itself
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await send_json(send, 413, "request body too large")
