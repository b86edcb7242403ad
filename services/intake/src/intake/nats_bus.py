"""The bus over NATS JetStream, connected lazily so intake starts and serves while NATS is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError
from showcase_common import subjects
from showcase_common.bus import Publisher, connect, ensure_stream
from showcase_common.events import Event
from showcase_common.progress import RequestProgress

from intake.ports import Bus, BusUnavailable

log = logging.getLogger(__name__)


class NatsBus(Bus):
    def __init__(
        self, url: str, *, retry_s: float = 1.0, timeout_s: float = 3.0, replicas: int = 1
    ) -> None:
        self._url = url
        self._replicas = replicas
        self._retry_s = retry_s
        self._timeout_s = timeout_s
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._publisher: Publisher | None = None
        self._connecting: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect_until_up(), name="nats-connect")

    async def _connect_until_up(self) -> None:
        # Once connected, the client reconnects by itself forever; until then we retry here.
        while True:
            try:
                nc = await connect(self._url, "intake")
                js = nc.jetstream(timeout=self._timeout_s)
                await ensure_stream(js, replicas=self._replicas)
            except Exception as exc:
                log.warning("NATS at %s not reachable (%s); retrying", self._url, exc)
                with contextlib.suppress(Exception):
                    await nc.close()
                await asyncio.sleep(self._retry_s)
                continue
            self._nc, self._js = nc, js
            self._publisher = Publisher(js, timeout_s=self._timeout_s)
            log.info("connected to NATS at %s", self._url)
            return

    async def publish(self, event: Event, *, msg_id: str) -> None:
        if self._publisher is None or not self.connected:
            raise BusUnavailable("not connected to NATS")
        try:
            await self._publisher.publish(event, msg_id=msg_id)
        except Exception as exc:
            raise BusUnavailable(f"publish failed: {exc}") from exc

    async def request_state(self, request_id: str) -> RequestProgress | None:
        if self._js is None or not self.connected:
            raise BusUnavailable("not connected to NATS")
        try:
            kv = await self._js.key_value(subjects.REQUEST_STATE_BUCKET)
            entry = await kv.get(request_id)
        except (BucketNotFoundError, KeyNotFoundError, KeyDeletedError):
            return None
        except Exception as exc:
            raise BusUnavailable(f"reading request state failed: {exc}") from exc
        if not entry.value:
            return None
        return RequestProgress.model_validate_json(entry.value)

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
