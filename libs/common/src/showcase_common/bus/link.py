"""A service's one NATS connection: the only place a service opens NATS, and the one retry loop.

`NatsLink.run(stop)` connects, waiting as long as NATS is down, then declares the stream and the
service's key-value buckets; a failure on the way (a JetStream not yet ready, a cluster still
electing) closes the attempt and tries again after `retry_s`. Once up, the client reconnects by
itself forever (`connect`). Adapters hold the link, not a connection: `jetstream()` raises
`NotConnected` until the link is up, so a service serves HTTP (and queues work) while NATS is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from nats.aio.client import Client
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from showcase_common.bus.connection import connect, shown_url
from showcase_common.bus.streams import ensure_kv, ensure_stream

log = logging.getLogger(__name__)


class NotConnected(ConnectionError):
    """NATS has not been reached yet (or the connection is down right now)."""


class NatsLink:
    """The connection, once there is one, and what was declared on it."""

    def __init__(
        self,
        url: str,
        name: str,
        *,
        replicas: int = 1,
        buckets: Sequence[str] = (),
        retry_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.url, self.name = url, name
        self._replicas = replicas
        self._buckets = tuple(buckets)
        self._retry_s = retry_s
        self._timeout_s = timeout_s
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._kv: dict[str, KeyValue] = {}
        self._up = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def client(self) -> Client:
        if self._nc is None:
            raise NotConnected("not connected to NATS yet")
        return self._nc

    def jetstream(self) -> JetStreamContext:
        """The JetStream context; `NotConnected` until the link is up or while it is down."""
        if self._js is None or not self.connected:
            raise NotConnected("not connected to NATS")
        return self._js

    def kv(self, bucket: str) -> KeyValue:
        """A bucket named in `buckets`, declared when the link came up."""
        if bucket not in self._kv:
            raise NotConnected(f"key-value bucket {bucket} not declared yet")
        return self._kv[bucket]

    async def wait_up(self) -> None:
        await self._up.wait()

    async def check(self) -> None:
        """Readiness: raises unless connected."""
        if not self.connected:
            raise NotConnected("not connected to NATS")

    async def run(self, stop: asyncio.Event) -> bool:
        """Connect and declare, retrying until it works (True) or `stop` is set (False)."""
        while not stop.is_set():
            attempt = asyncio.create_task(self._attempt())
            stopped = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({attempt, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if attempt not in done:
                attempt.cancel()
                with contextlib.suppress(BaseException):
                    await attempt
                return False
            if attempt.exception() is None:
                self._up.set()
                log.info("connected to NATS at %s", shown_url(self.url))
                return True
            log.warning(
                "NATS at %s not usable (%s); retrying", shown_url(self.url), attempt.exception()
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retry_s)
        return False

    async def _attempt(self) -> None:
        nc = await connect(self.url, self.name)
        try:
            js = nc.jetstream(timeout=self._timeout_s)
            await ensure_stream(js, replicas=self._replicas)
            for bucket in self._buckets:
                self._kv[bucket] = await ensure_kv(js, bucket, replicas=self._replicas)
        except BaseException:
            with contextlib.suppress(Exception):
                await nc.close()
            raise
        self._nc, self._js = nc, js

    async def close(self) -> None:
        """Drain: pending publishes are flushed, subscriptions closed."""
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
