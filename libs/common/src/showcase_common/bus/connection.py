"""Connecting to NATS with the settings a long-running service needs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats
from nats.aio.client import Client

log = logging.getLogger(__name__)


def server_urls(url: str) -> list[str]:
    """`NATS_URL` may name several servers of one cluster, comma-separated."""
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect(url: str, name: str, *, connect_timeout_s: float = 2.0) -> Client:
    """A client that reconnects forever (nats-py gives up after ~2 minutes by default).

    `url` is one server or a comma-separated list of a cluster's servers: the client connects
    to any of them and, when it loses one, reconnects to another.
    """

    async def on_disconnect() -> None:
        log.warning("disconnected from NATS at %s", url)

    async def on_reconnect() -> None:
        log.info("reconnected to NATS at %s", url)

    async def on_error(exc: Exception) -> None:
        log.warning("NATS at %s: %s", url, exc)

    return await nats.connect(
        servers=server_urls(url),
        name=name,
        connect_timeout=connect_timeout_s,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        allow_reconnect=True,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
    )


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
