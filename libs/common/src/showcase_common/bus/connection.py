"""Connecting to NATS with the settings a long-running service needs."""

from __future__ import annotations

import asyncio
import logging
import re
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


def shown_url(url: str) -> str:
    """`url` as logs may show it: a password in it (each service's NATS user) is masked."""
    return re.sub(r"(nats://[^:/@,]+):[^@,]*@", r"\1:***@", url)


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
        log.warning("disconnected from NATS at %s", shown_url(url))

    async def on_reconnect() -> None:
        log.info("reconnected to NATS at %s", shown_url(url))
        _wake(nc)

    async def on_error(exc: Exception) -> None:
        log.warning("NATS at %s: %s", shown_url(url), exc)

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


async def connect_once(url: str, name: str, *, timeout_s: float = 3.0) -> Client:
    """A client that fails fast and never reconnects: for an operator's command, which wants
    an answer now rather than a retry loop (services use `link.NatsLink`)."""

    async def quiet(exc: Exception) -> None:  # the caller reports the failure once
        pass

    nc = Client()
    await nc.connect(
        servers=server_urls(url),
        name=name,
        connect_timeout=timeout_s,  # type: ignore[arg-type]  # see above
        max_reconnect_attempts=1,  # 0 would mean "forever" to nats-py
        reconnect_time_wait=0.1,  # type: ignore[arg-type]  # see above
        allow_reconnect=False,
        error_cb=quiet,
    )
    return nc
