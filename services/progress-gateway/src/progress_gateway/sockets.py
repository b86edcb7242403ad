"""One browser connection: the current state of each request its token names, then every change.

Subscribing to the changes *before* reading the stored states closes the gap between the two; the
revision of each key then orders them: a change is sent only when it is newer than what the
connection already sent, so a state is never repeated or replaced by an older one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Coroutine
from typing import Any

from showcase_common.progress import RequestProgress
from showcase_common.tokens import ProgressGrant
from starlette.websockets import WebSocket, WebSocketDisconnect

from progress_gateway import metrics
from progress_gateway.change_fanout import ChangeFanout, Subscription
from progress_gateway.store import ProgressStore, StoreUnavailable, Versioned

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN_LATER = 1013


class ProgressSender:
    """Sends a connection's messages in revision order, its own user's requests only."""

    def __init__(self, websocket: WebSocket, user: str) -> None:
        self._ws = websocket
        self._user = user
        self._sent: dict[str, int] = {}
        self._foreign: set[str] = set()

    async def initial(self, request_id: str, stored: Versioned | None) -> None:
        if stored is None:
            self._sent[request_id] = 0
            await self._ws.send_json(RequestProgress(request_id=request_id).public())
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
        await self._ws.send_json(stored.progress.public())
        metrics.MESSAGES_SENT.labels(kind).inc()

    async def forward(self, sub: Subscription) -> None:
        while True:
            request_id, stored = await sub.next()
            await self.change(request_id, stored)


async def serve(
    websocket: WebSocket, grant: ProgressGrant, store: ProgressStore, changes: ChangeFanout
) -> None:
    """Run an accepted connection until the browser leaves or the token expires."""
    sub = changes.subscribe(grant.request_ids)
    sender = ProgressSender(websocket, grant.user)
    metrics.WEBSOCKETS_OPEN.inc()
    try:
        if not changes.live.is_set():  # NATS not up yet: the changes could not follow
            raise StoreUnavailable("the change fan-out has not started")
        for request_id in sorted(grant.request_ids):
            await sender.initial(request_id, await store.read(request_id))
        await _first_of(
            sender.forward(sub), _until_closed(websocket), _until_expired(websocket, grant)
        )
    except StoreUnavailable as exc:
        log.warning("progress store unavailable: %s", exc)
        metrics.WEBSOCKETS_CLOSED.labels("store_unavailable").inc()
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_TRY_AGAIN_LATER, "progress store unavailable")
    except (WebSocketDisconnect, RuntimeError):
        metrics.WEBSOCKETS_CLOSED.labels("client").inc()  # it left while we were sending
    finally:
        sub.close()
        metrics.WEBSOCKETS_OPEN.dec()


async def _until_closed(websocket: WebSocket) -> None:
    """Returns when the browser closes (it sends nothing else we need)."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            metrics.WEBSOCKETS_CLOSED.labels("client").inc()
            return


async def _until_expired(websocket: WebSocket, grant: ProgressGrant) -> None:
    """Closes the connection when its token expires: a stale token must not keep watching."""
    left = (grant.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
    await asyncio.sleep(max(0.0, left))
    await websocket.close(CLOSE_UNAUTHORIZED, "token expired")
    metrics.WEBSOCKETS_CLOSED.labels("token_expired").inc()


async def _first_of(*coros: Coroutine[Any, Any, None]) -> None:
    """Run until the first finishes (its exception propagates); cancel the rest."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if (exc := task.exception()) is not None:
            raise exc
