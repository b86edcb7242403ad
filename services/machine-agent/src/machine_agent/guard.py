"""The update endpoint's secret, checked before its body is read.

FastAPI reads and parses a route's body before it runs the route's dependencies, so a check in
a dependency comes after the whole body is in memory. The agents are public: an unauthenticated
caller must not make one read anything, so this pure-ASGI layer answers 401 from the headers
alone and only then lets the request (and its body, capped by `BodyLimitMiddleware`) through.
"""

from __future__ import annotations

import hmac

from showcase_common.http_limits import header, send_json
from starlette.types import ASGIApp, Receive, Scope, Send

from machine_agent import metrics

UPDATE_PATH = "/showcase/update_config"
UPDATE_MAX_BYTES = 4 * 1024
"""A Snapshot is about 200 bytes of JSON."""


def bearer_matches(authorization: str | None, secret: str | None) -> bool:
    """Constant-time, so the secret cannot be guessed byte by byte from timings."""
    scheme, _, given = (authorization or "").partition(" ")
    return (
        bool(secret)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), (secret or "").encode())
    )


class SecretFirstMiddleware:
    """401 for a request to `path` without the bearer secret, before its body is read."""

    def __init__(self, app: ASGIApp, *, secret: str | None, path: str = UPDATE_PATH) -> None:
        self.app = app
        self.secret = secret
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._guarded(scope) and not bearer_matches(
            header(scope, b"authorization"), self.secret
        ):
            metrics.UPDATES.labels("unauthorized").inc()
            detail = "invalid or missing bearer secret"
            await send_json(send, 401, detail, [(b"www-authenticate", b"Bearer")])
            return
        await self.app(scope, receive, send)

    def _guarded(self, scope: Scope) -> bool:
        return bool(scope["type"] == "http" and scope["path"] == self.path)  # Scope values: Any
