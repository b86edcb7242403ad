"""The composition root: builds the gateway from settings and the ports it is given.

`ports` makes the real ones (the `request_state` bucket over the runner's NATS link; nothing
connects here), `build` the `Service` the runner serves: the WebSocket app, and once NATS is up
the change feed and (unless disabled) the projector.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from showcase_common import subjects
from showcase_common.bus import Consumer, ConsumerOptions
from showcase_common.bus.link import NatsLink, NotConnected
from showcase_common.health import Check
from showcase_common.runner import Service, nats_link

from progress_gateway.app import create_app
from progress_gateway.config import GatewaySettings
from progress_gateway.feed import Feed, KvFeedSource
from progress_gateway.projection import Links
from progress_gateway.projector import Projector
from progress_gateway.runtime import Runtime
from progress_gateway.store import KvProgressStore, ProgressStore


def build_projector(settings: GatewaySettings, store: ProgressStore) -> Projector:
    return Projector(store, Links(settings.public_intake_url, settings.public_fleet_url))


@dataclass
class GatewayPorts:
    """What the gateway talks to; `ports` makes the real ones."""

    store: ProgressStore
    nats: NatsLink


def ports(settings: GatewaySettings) -> GatewayPorts:
    """The progress store in the `request_state` bucket, declared by the link when it is up."""
    link = nats_link(settings, buckets=[subjects.REQUEST_STATE_BUCKET])
    return GatewayPorts(
        store=KvProgressStore(lambda: link.kv(subjects.REQUEST_STATE_BUCKET)), nats=link
    )


def build(settings: GatewaySettings, ports: GatewayPorts) -> Service:
    """The gateway as the runner runs it: the WebSocket on GATEWAY_PORT; once NATS is up, the
    feed (one watch of the bucket) and the projector."""
    runtime = Runtime(settings=settings, store=ports.store, feed=Feed())
    link = ports.nats
    feed = KvFeedSource(link.jetstream, subjects.REQUEST_STATE_BUCKET, runtime.feed)
    on_nats = [feed.run]
    checks: dict[str, Check] = {"nats": _fed(link, runtime.feed)}
    if settings.projector_enabled:
        projector = _Projecting(settings, runtime.store, link)
        on_nats.append(projector.run)
        checks["projector"] = projector.check
    return Service(
        name="progress-gateway",
        host=settings.gateway_host,
        port=settings.gateway_port,
        app=create_app(runtime),
        checks=checks,
        on_nats=on_nats,
        server_options={
            "ws": "websockets-sansio",
            # Messages are a few hundred bytes: compression would only cost a zlib context
            # (tens of KiB) per connection.
            "ws_per_message_deflate": False,
        },
    )


def _fed(link: NatsLink, feed: Feed) -> Check:
    """NATS connected and the change feed running (sockets are served only then)."""

    async def check() -> None:
        await link.check()
        if not feed.live.is_set():
            raise NotConnected("the change feed has not started")

    return check


class _Projecting:
    """The projector's consumer, as a runner's NATS worker, and whether it runs."""

    def __init__(self, settings: GatewaySettings, store: ProgressStore, link: NatsLink) -> None:
        self._settings, self._store, self._link = settings, store, link
        self._running = False

    async def run(self, stop: asyncio.Event) -> None:
        consumer = Consumer(
            self._link.jetstream(),
            subjects.STREAM,
            subjects.PROGRESS_DURABLE,
            subjects.PROGRESS_SUBJECTS,
            handler=build_projector(self._settings, self._store).handle,
            options=ConsumerOptions(
                batch_size=20, fetch_timeout_s=self._settings.projector_fetch_timeout_s
            ),
        )
        self._running = True
        try:
            await consumer.run(stop)
        finally:
            self._running = False

    async def check(self) -> str:
        return "ok" if self._running else "stopped"
