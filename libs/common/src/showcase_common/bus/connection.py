"""Connecting to NATS with the settings a long-running service needs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats
from nats.aio.client import Client

log = logging.getLogger(__name__)


async def connect(url: str, name: str, *, connect_timeout_s: float = 2.0) -> Client:
    """A client that reconnects forever (nats-py gives up after ~2 minutes by default)."""

    async def on_disconnect() -> None:
        log.warning("disconnected from NATS at %s", url)

    async def on_reconnect() -> None:
        log.info("reconnected to NATS at %s", url)

    async def on_error(exc: Exception) -> None:
        log.warning("NATS error: %s", exc)

    return await nats.connect(
        url,
        name=name,
        connect_timeout=connect_timeout_s,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        allow_reconnect=True,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
    )


async def connect_until_up(
    url: str, name: str, stop: asyncio.Event | None = None, *, max_delay_s: float = 5.0
) -> Client | None:
    """Connect, retrying with a growing delay while NATS is down (None if `stop` is set first).

    A service may start before the broker (a boot race, a broker upgrade); once connected, the
    client reconnects by itself forever.
    """
    stop = stop or asyncio.Event()
    delay = 0.5
    while not stop.is_set():
        try:
            return await connect(url, name)
        except Exception as exc:
            log.warning("NATS at %s unavailable (%s); retrying in %.1fs", url, exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, max_delay_s)
    return None
