"""Gateways served by uvicorn on free ports against the test's own nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats.errors
import pytest
from nats.js.client import JetStreamContext
from nats.js.errors import NoStreamResponseError
from progress_gateway.bootstrap import build, ports
from progress_gateway.config import GatewaySettings, ProjectorConsumerSettings
from progress_gateway.route_deps import RouteDeps
from showcase_common import runner, subjects
from showcase_common.bus import Publisher, connect, ensure_kv, ensure_stream
from showcase_common.events import Event
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

SECRET = "integration-secret-of-at-least-32-bytes"


class Gateway:
    """One gateway process's worth: the service on the runner, in this event loop."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.ports = ports(settings)
        self.service = build(settings, self.ports)
        self.server = runner.server(settings, self.service, listen_port=0)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, live: bool = True) -> None:
        """Serving, and (when `live`) its change fan-out live: before, a socket is closed with 1013."""
        serving = runner.serve(
            self.settings, self.service, self._stop, link=self.ports.nats, http=self.server
        )
        self._task = asyncio.create_task(serving)
        while not self.server.started:  # uvicorn offers no event to await
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        if not live:
            return
        deps: RouteDeps = self.service.app.state.route_deps  # type: ignore[union-attr]
        await asyncio.wait_for(deps.changes.live.wait(), 30)

    @property
    def http_url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @property
    def ws_url(self) -> str:
        return self.http_url.replace("http://", "ws://") + "/ws/progress"

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 15)


@pytest.fixture
async def gateways(nats_url: str) -> AsyncIterator[Callable[[], Any]]:
    started: list[Gateway] = []

    async def start(*, live: bool = True) -> Gateway:
        settings = GatewaySettings(
            nats_url=nats_url,
            progress_token_secret=SECRET,
            public_intake_url="http://intake",
            public_fleet_url="http://fleet",
            consumer=ProjectorConsumerSettings(fetch_timeout_s=0.2),
        )
        gateway = Gateway(settings)
        started.append(gateway)
        await gateway.start(live=live)
        return gateway

    yield start
    for gateway in started:
        await gateway.stop()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await connect(nats_url, "test-publisher")
    js = nc.jetstream()
    await ensure_stream(js)
    yield js
    await nc.close()


@pytest.fixture
def publish(js: JetStreamContext) -> Callable[..., Any]:
    publisher = Publisher(js)

    async def publish(*evts: Event) -> None:
        for event in evts:
            await _until_acked(publisher, event)

    return publish


async def _until_acked(publisher: Publisher, event: Event, timeout_s: float = 30.0) -> None:
    """Publish, again while the broker is coming back (the Nats-Msg-Id drops a double)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await publisher.publish(event)
            return
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, NoStreamResponseError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def wait_for_state(
    js: JetStreamContext, request_id: str, done: Callable[[dict[str, Any]], bool]
) -> None:
    """Until the stored state of `request_id` satisfies `done` (a watch, not a poll)."""
    kv = await ensure_kv(js, subjects.REQUEST_STATE_BUCKET)
    watcher = await kv.watch(request_id)

    async def loop() -> None:
        async for entry in watcher:
            if entry is not None and entry.value and done(json.loads(entry.value)):
                return

    try:
        await asyncio.wait_for(loop(), 20)
    finally:
        await watcher.stop()


async def receive(ws: ClientConnection, timeout_s: float = 15.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def receive_until(
    ws: ClientConnection, done: Callable[[dict[str, Any]], bool], timeout_s: float = 20.0
) -> list[dict[str, Any]]:
    """Every message up to and including the first that satisfies `done`."""
    messages: list[dict[str, Any]] = []

    async def loop() -> None:
        while True:
            messages.append(json.loads(await ws.recv()))
            if done(messages[-1]):
                return

    await asyncio.wait_for(loop(), timeout_s)
    return messages


@contextlib.asynccontextmanager
async def open_socket(url: str, token: str | None) -> AsyncIterator[ClientConnection]:
    target = url if token is None else f"{url}?token={token}"
    async with ws_connect(target, open_timeout=10) as ws:
        yield ws
