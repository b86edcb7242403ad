"""The composition root: the roll-out handler and the consumer, built from settings.

`ports` makes the real collaborators (nothing connects: the runner opens NATS), `build` turns
them into the `Service` the runner serves; `bootstrap` takes every collaborator as a parameter
so the unit tests pass fakes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from showcase_common import subjects
from showcase_common.bus import Consumer, ConsumerOptions, EventPublisher, Publisher
from showcase_common.bus.link import NatsLink
from showcase_common.fleet_control import FleetControl, KvFleetControl
from showcase_common.health import Check
from showcase_common.runner import Service, nats_link
from showcase_common.snapshots import S3SnapshotStore

from machine_updater.bodies import SnapshotBodies, StoreBodies
from machine_updater.canary import CanaryPolicy
from machine_updater.client import ByProtocol, HttpMachineClient, MachineClient
from machine_updater.config import UpdaterSettings
from machine_updater.feed import JetStreamSnapshotFeed, SnapshotFeed
from machine_updater.fleet import Fleet, FlyFleet, StaticFleet, update_path_of
from machine_updater.handlers import RolloutHandler
from machine_updater.hold import RolloutHold
from machine_updater.rollout import RetryPolicy
from machine_updater.update_config import UpdateConfigClient


def retry_policy(settings: UpdaterSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.machine_attempts,
        initial_s=settings.retry_initial_s,
        max_s=settings.retry_max_s,
        deadline_s=settings.machine_deadline_s,
        page_deadline_s=settings.page_deadline_s,
    )


def make_fleet(settings: UpdaterSettings, http: httpx.AsyncClient) -> Fleet:
    """The Fly API when an app is named, else the static YAML list."""
    if settings.fly_app_name:
        if not settings.fly_api_token:
            raise ValueError("FLY_APP_NAME is set but FLY_API_TOKEN is not")
        return FlyFleet(
            http,
            api_url=settings.fly_api_url,
            app_name=settings.fly_app_name,
            token=settings.fly_api_token,
            app_url=settings.app_url,
            protocol=settings.fly_machine_protocol,
            update_path=update_path_of(settings.fly_update_config_path),
        )
    if settings.fleet_file is None:
        raise ValueError("set FLEET_FILE or FLY_APP_NAME + FLY_API_TOKEN")
    return StaticFleet(settings.fleet_file)


def make_http(settings: UpdaterSettings) -> httpx.AsyncClient:
    # Enough connections for every concurrent machine (status + update + pages), kept alive.
    limits = httpx.Limits(max_connections=max(16, settings.concurrency * 2))
    return httpx.AsyncClient(
        limits=limits, timeout=httpx.Timeout(settings.probe_timeout_s), follow_redirects=False
    )


def make_client(
    settings: UpdaterSettings, http: httpx.AsyncClient, bodies: SnapshotBodies | None = None
) -> MachineClient:
    """One adapter per protocol behind the one port (`client.ByProtocol`)."""
    agent = HttpMachineClient(
        http,
        settings.machine_update_secret,
        update_timeout_s=settings.update_timeout_s,
        probe_timeout_s=settings.probe_timeout_s,
        connect_timeout_s=settings.connect_timeout_s,
    )
    update_config = UpdateConfigClient(
        http,
        bodies or StoreBodies(S3SnapshotStore.from_settings(settings)),
        read_timeout_s=settings.update_timeout_s,
        probe_timeout_s=settings.probe_timeout_s,
        connect_timeout_s=settings.connect_timeout_s,
    )
    return ByProtocol({"agent": agent, "update_config": update_config})


def bootstrap(
    settings: UpdaterSettings,
    *,
    publisher: EventPublisher,
    feed: SnapshotFeed,
    http: httpx.AsyncClient | None = None,
    fleet: Fleet | None = None,
    client: MachineClient | None = None,
    control: FleetControl | None = None,
) -> RolloutHandler:
    """The handler, from the collaborators given; the missing ones are built from settings."""
    if (fleet is None or client is None) and http is None:
        raise ValueError("an http client is needed to build the real fleet or machine client")
    return RolloutHandler(
        fleet or make_fleet(settings, http),  # type: ignore[arg-type]  # http: checked above
        client or make_client(settings, http),  # type: ignore[arg-type]  # http: checked above
        publisher,
        feed,
        policy=retry_policy(settings),
        concurrency=settings.concurrency,
        canary=CanaryPolicy(enabled=settings.canary, machine_id=settings.canary_machine),
        hold=None
        if control is None
        else RolloutHold(control, publisher, poll_s=settings.pause_poll_s),
    )


def consumer_options(settings: UpdaterSettings) -> ConsumerOptions:
    # A roll-out outlasts ack_wait easily; the loop's in_progress() every heartbeat_s keeps the
    # lease, and ack_wait bounds how long a crashed updater holds the message.
    return ConsumerOptions(
        ack_wait_s=settings.ack_wait_s,
        heartbeat_s=settings.heartbeat_s,
        batch_size=settings.batch_size,
        max_deliver=10,
    )


def readiness(nats: Check, fleet: Fleet) -> dict[str, Check]:
    """NATS connected, and the fleet listable and not empty."""

    async def machines() -> None:
        if not await fleet.machines():
            raise LookupError("no machines listed")

    return {"nats": nats, "fleet": machines}


@dataclass
class UpdaterPorts:
    """What the updater talks to; `ports` makes the real ones, tests pass fakes."""

    publisher: EventPublisher
    feed: SnapshotFeed
    fleet: Fleet
    client: MachineClient
    http: httpx.AsyncClient
    nats: NatsLink
    control: FleetControl


def ports(settings: UpdaterSettings) -> UpdaterPorts:
    """NATS (opened by the runner), the fleet and the agents over one httpx client."""
    link = nats_link(settings)
    http = make_http(settings)
    return UpdaterPorts(
        publisher=Publisher(link.jetstream),
        feed=JetStreamSnapshotFeed(link.jetstream),
        fleet=make_fleet(settings, http),
        client=make_client(settings, http),
        http=http,
        nats=link,
        control=KvFleetControl(link.jetstream, replicas=settings.nats_replicas),
    )


def build(settings: UpdaterSettings, ports: UpdaterPorts) -> Service:
    """The updater as the runner runs it: health on UPDATER_PORT, the consumer once NATS is up."""
    handler = bootstrap(
        settings,
        publisher=ports.publisher,
        feed=ports.feed,
        fleet=ports.fleet,
        client=ports.client,
        control=ports.control,
    )
    link = ports.nats

    async def consume(stop: asyncio.Event) -> None:
        handler.stopping = stop
        consumer = Consumer(
            link.jetstream(),
            subjects.STREAM,
            subjects.MACHINE_UPDATER_DURABLE,
            list(subjects.MACHINE_UPDATER_SUBJECTS),
            batch_handler=handler.handle_batch,
            options=consumer_options(settings),
        )
        await consumer.run(stop)

    return Service(
        name="machine-updater",
        host=settings.updater_host,
        port=settings.updater_port,
        checks=readiness(link.check, ports.fleet),
        on_nats=[consume],
        closers=[ports.http.aclose],
    )
