"""Connecting to NATS with the settings a long-running service needs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from nats.aio.client import Client
from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)

# Futures completed at each client's next reconnect (only for clients made by `connect`).
_reconnect_waiters: weakref.WeakKeyDictionary[Client, set[asyncio.Future[None]]] = (
    weakref.WeakKeyDictionary()
)


def _client(js: JetStreamContext | Client) -> Client:
    return js if isinstance(js, Client) else js._nc  # nats-py keeps the client private


def reconnects(js: JetStreamContext | Client) -> int:
    """How many times the client has reconnected so far."""
    return int(_client(js).stats["reconnects"])


def next_reconnect(js: JetStreamContext | Client) -> asyncio.Future[None] | None:
    """A future completed when the client next reconnects; None for a client that `connect`
    did not make (it cannot tell). Cancel it when no longer needed."""
    waiters = _reconnect_waiters.get(_client(js))
    if waiters is None:
        return None
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiters.add(future)
    future.add_done_callback(waiters.discard)
    return future


def _wake(nc: Client) -> None:
    for future in list(_reconnect_waiters.get(nc, ())):
        if not future.done():
            future.set_result(None)


def server_urls(url: str) -> list[str]:
    """`NATS_URL` may name several servers of one cluster, comma-separated."""
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect(url: str, name: str, *, connect_timeout_s: float = 2.0) -> Client:
    """A client that reconnects forever (nats-py gives up after ~2 minutes by default).

    `url` is one server or a comma-separated list of a cluster's servers: the client connects
    to any of them and, when it loses one, reconnects to another.
    """
    nc = Client()
    _reconnect_waiters[nc] = set()

    async def on_disconnect() -> None:
        log.warning("disconnected from NATS at %s", url)

    async def on_reconnect() -> None:
        log.info("reconnected to NATS at %s", url)
        _wake(nc)

    async def on_error(exc: Exception) -> None:
        log.warning("NATS at %s: %s", url, exc)

    await nc.connect(
        servers=server_urls(url),
        name=name,
        # nats-py annotates these int but waits on them as seconds (float works, 0.5 is ours)
        connect_timeout=connect_timeout_s,  # type: ignore[arg-type]  # see above
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,  # type: ignore[arg-type]  # see above
        allow_reconnect=True,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
    )
    return nc


async def connect_until_up(url: str, name: str, stop: asyncio.Event | None = None) -> Client | None:
    """Connect, waiting as long as NATS is down; None if `stop` is set first.

    With `max_reconnect_attempts=-1` nats-py retries even the first connection forever, so a
    service that boots before its broker waits for it; `stop` lets a SIGTERM end that wait.
    """
    attempt = asyncio.create_task(connect(url, name))
    if stop is None:
        return await attempt
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({attempt, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if attempt in done:
        stopped.cancel()
        return attempt.result()
    attempt.cancel()
    with contextlib.suppress(BaseException):
        await attempt
    return None
