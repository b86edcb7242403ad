"""One browser connection: the current state of each request its token names, then every change.

Subscribing to the changes *before* reading the stored states closes the gap between the two; the
revision of each key then orders them: a change is sent only when it is newer than what the
connection already sent, so a state is never repeated or replaced by an older one.

A gateway holds thousands of these at once, so each is as small as it can be
(docs/performance.md, "Gateway"): a plain ASGI handler in front of the app's middleware stack
(`ProgressSocketRoute`), one task (the server's, waiting for the browser to leave), no queue and
no task of its own while nothing is sent: the fan-out hands a change to the connection
(`ProgressConnection.offer`), which sends it from a short-lived task; the token's expiry is a
timer, not a sleeping task.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from typing import Any

from showcase_common.progress import RequestProgress
from showcase_common.tokens import InvalidToken, ProgressGrant, TokenExpired, verify_token
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from progress_gateway import metrics
from progress_gateway.change_fanout import ChangeFanout
from progress_gateway.route_deps import RouteDeps
from progress_gateway.store import ProgressStore, StoreUnavailable, Versioned

log = logging.getLogger(__name__)

PROGRESS_PATH = "/ws/progress"
CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN_LATER = 1013


class Gone(Exception):
    """The browser left (or the connection broke) while something was being sent."""


class ProgressConnection:
    """Sends a connection's messages in revision order, its own user's requests only."""

    __slots__ = ("_foreign", "_live", "_pending", "_send", "_sending", "_sent", "_user", "closing")

    def __init__(self, send: Send, user: str) -> None:
        self._send = send
        self._user = user
        self._sent: dict[str, int] = {}
        self._foreign: set[str] = set()
        self._pending: list[tuple[str, Versioned]] = []
        self._live = False
        self._sending: asyncio.Task[None] | None = None
        self.closing = False
        """Set once the gateway closes the connection (the token expired)."""

    async def initial(self, request_id: str, stored: Versioned | None) -> None:
        if stored is None:
            self._sent[request_id] = 0
            await self._send_json(RequestProgress(request_id=request_id).public())
            metrics.MESSAGES_SENT.labels("initial").inc()
            return
        await self.change(request_id, stored, kind="initial")

    async def change(self, request_id: str, stored: Versioned, kind: str = "change") -> None:
        if request_id in self._foreign or stored.revision <= self._sent.get(request_id, -1):
            return
        owner = stored.progress.user
        if owner is not None and owner != self._user:
            # A token names only its user's requests; guard anyway: never leak another's.
            log.warning("token of %s names %s, owned by someone else", self._user, request_id)
            self._foreign.add(request_id)
            return
        self._sent[request_id] = stored.revision
        await self._send_json(stored.progress.public())
        metrics.MESSAGES_SENT.labels(kind).inc()

    def offer(self, request_id: str, stored: Versioned) -> None:
        """The fan-out's callback: queue the change, and send it unless the initial states are
        still being sent (they go first; the revision check drops what they already covered)."""
        self._pending.append((request_id, stored))
        self._start_sending()

    def go_live(self) -> None:
        """The initial states are sent: changes flow from now on."""
        self._live = True
        self._start_sending()

    def stop(self) -> None:
        self._pending.clear()
        if self._sending is not None:
            self._sending.cancel()

    def close(self, code: int, reason: str) -> None:
        """Close from the gateway's side (the browser answers, and the handler ends)."""
        self.closing = True
        self.stop()
        self._sending = asyncio.get_running_loop().create_task(self._close(code, reason))

    def _start_sending(self) -> None:
        if self._live and self._sending is None and not self.closing:
            self._sending = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                request_id, stored = self._pending.pop(0)
                await self.change(request_id, stored)
        except Gone:
            self._pending.clear()  # the handler sees the browser leave and ends
        finally:
            if self._sending is asyncio.current_task():  # not replaced by `close`'s
                self._sending = None

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _send_json(self, data: Any) -> None:
        """As Starlette's `WebSocket.send_json` writes it."""
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        try:
            await self._send({"type": "websocket.send", "text": text})
        except (OSError, RuntimeError) as exc:  # uvicorn's ClientDisconnected is an OSError
            raise Gone() from exc


async def serve(
    scope: Scope, receive: Receive, send: Send, grant: ProgressGrant, deps: RouteDeps
) -> None:
    """Run an accepted connection until the browser leaves or the token expires."""
    connection = ProgressConnection(send, grant.user)
    changes: ChangeFanout = deps.changes
    store: ProgressStore = deps.store
    sub = changes.subscribe(grant.request_ids, connection.offer)
    left = (grant.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
    expiry = asyncio.get_running_loop().call_later(max(0.0, left), _expire, connection)
    metrics.WEBSOCKETS_OPEN.inc()
    try:
        if not changes.live.is_set():  # NATS not up yet: the changes could not follow
            raise StoreUnavailable("the change fan-out has not started")
        for request_id in sorted(grant.request_ids):
            await connection.initial(request_id, await store.read(request_id))
        connection.go_live()
        while (await receive())["type"] != "websocket.disconnect":
            pass  # the browser sends nothing else we need
        if not connection.closing:
            metrics.WEBSOCKETS_CLOSED.labels("client").inc()
    except StoreUnavailable as exc:
        log.warning("progress store unavailable: %s", exc)
        metrics.WEBSOCKETS_CLOSED.labels("store_unavailable").inc()
        with contextlib.suppress(Exception):
            reason = "progress store unavailable"
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER, "reason": reason})
    except Gone:
        metrics.WEBSOCKETS_CLOSED.labels("client").inc()  # it left while we were sending
    finally:
        expiry.cancel()
        sub.close()
        connection.stop()
        metrics.WEBSOCKETS_OPEN.dec()


def _expire(connection: ProgressConnection) -> None:
    """The token expired: a stale token must not keep watching."""
    connection.close(CLOSE_UNAUTHORIZED, "token expired")
    metrics.WEBSOCKETS_CLOSED.labels("token_expired").inc()


class ProgressSocketRoute:
    """`/ws/progress`, answered before the app's middleware and routing (which a WebSocket
    needs none of: no body, no page headers): each open connection then holds the frames of
    this handler alone. Anything else goes on to the app."""

    def __init__(self, app: ASGIApp, *, deps: RouteDeps) -> None:
        self.app = app
        self.deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != PROGRESS_PATH:
            await self.app(scope, receive, send)
            return
        if (await receive())["type"] != "websocket.connect":
            return  # gone before the handshake
        await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
        token = QueryParams(scope.get("query_string", b"")).get("token")
        try:
            grant = verify_token(self.deps.settings.progress_token_secret, token)
        except InvalidToken as exc:
            metrics.WEBSOCKETS_REFUSED.labels(_refusal(token, exc)).inc()
            # Accept first so the browser sees the reason (a refused handshake is an opaque 403).
            reason = f"unauthorized: {exc}"[:120]
            await send({"type": "websocket.close", "code": CLOSE_UNAUTHORIZED, "reason": reason})
            return
        await serve(scope, receive, send, grant, self.deps)


def _refusal(token: str | None, exc: InvalidToken) -> str:
    """A bounded reason: an expired token is routine (an old tab), an invalid one is not."""
    if not token:
        return "missing"
    return "expired" if isinstance(exc, TokenExpired) else "invalid"
