"""The composition root: builds the gateway from settings and the ports it is given.

`ports` makes the real ones (the `request_state` bucket over the runner's NATS link; nothing
connects here), `build` the `Service` the runner serves: the WebSocket app, and once NATS is up
the bucket watch feeding the sockets and (unless disabled) the projector.
"""

from __future__ import annotations

from dataclasses import dataclass

from showcase_common import subjects
from showcase_common.bus import ConsumerSpec, consumer_options
from showcase_common.bus.link import NatsLink, NotConnected
from showcase_common.health import Check
from showcase_common.runner import Ports, Service, Worker, nats_link

from progress_gateway.app import gateway_app
from progress_gateway.change_fanout import BucketWatch, ChangeFanout
from progress_gateway.config import GatewaySettings
from progress_gateway.projection import PROJECTED, Links
from progress_gateway.projector import Projector
from progress_gateway.route_deps import RouteDeps
from progress_gateway.store import KvProgressStore, ProgressStore


@dataclass(kw_only=True)
class GatewayPorts(Ports):
    """What the gateway talks to; `ports` makes the real ones, tests pass `FakeGatewayPorts`."""

    store: ProgressStore


def ports(settings: GatewaySettings) -> GatewayPorts:
    """The progress store in the `request_state` bucket, declared by the link when it is up."""
    link = nats_link(settings, buckets=[subjects.REQUEST_STATE_BUCKET])
    return GatewayPorts(
        store=KvProgressStore(lambda: link.kv(subjects.REQUEST_STATE_BUCKET)), nats=link
    )


def build(settings: GatewaySettings, ports: GatewayPorts) -> Service:
    """The gateway as the runner runs it: the WebSocket on GATEWAY_PORT; once NATS is up, the
    bucket watch (one for all sockets) and (unless disabled) the projector's consumer."""
    deps = RouteDeps(settings=settings, store=ports.store, changes=ChangeFanout())
    link = ports.nats
    on_nats: list[Worker] = []
    checks: dict[str, Check] = {}
    consumers: list[ConsumerSpec] = []
    if link is not None:
        watch = BucketWatch(link.jetstream, subjects.REQUEST_STATE_BUCKET, deps.changes)
        on_nats.append(watch.run)
        checks["nats"] = _fed(link, deps.changes)
    if settings.projector_enabled:
        projector = projector_consumer(settings, deps.store)
        consumers.append(projector)
        checks["projector"] = projector.check
    return Service(
        name="progress-gateway",
        listen_host=settings.gateway_host,
        listen_port=settings.gateway_port,
        app=gateway_app(deps),
        checks=checks,
        consumers=consumers,
        on_nats=on_nats,
        server_options={
            "ws": "websockets-sansio",
            # Messages are a few hundred bytes: compression would only cost a zlib context
            # (tens of KiB) per connection.
            "ws_per_message_deflate": False,
        },
    )


def projector_consumer(settings: GatewaySettings, store: ProgressStore) -> ConsumerSpec:
    """Every step event folded into each of its requests' progress: the events of one fetch
    together, one write per request (`Projector.handle_batch`)."""
    links = Links(settings.public_intake_url, settings.public_fleet_url)
    project = Projector(store, links).handle_batch
    return ConsumerSpec(
        subjects.PROGRESS_DURABLE,
        handles_batches={event_type: project for event_type in PROJECTED},
        options=consumer_options(settings.consumer),
    )


def _fed(link: NatsLink, changes: ChangeFanout) -> Check:
    """NATS connected and the bucket watch feeding the fan-out (sockets are served only then)."""

    async def check() -> None:
        await link.check()
        if not changes.live.is_set():
            raise NotConnected("the change fan-out has not started")

    return check
