"""The composition root: the roll-out handler and the consumer, built from settings.

`bootstrap` takes every collaborator as a parameter so the unit tests pass fakes; `connect_and_build`
is what the service runs (it is the only place that opens connections, and only when called).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import httpx
from nats.aio.client import Client
from showcase_common import subjects
from showcase_common.bus import (
    Consumer,
    ConsumerOptions,
    Publisher,
    connect_until_up,
    ensure_stream,
)

from machine_updater.client import HttpMachineClient, MachineClient
from machine_updater.config import UpdaterSettings
from machine_updater.feed import JetStreamSnapshotFeed, SnapshotFeed
from machine_updater.fleet import Fleet, FlyFleet, StaticFleet
from machine_updater.handlers import RolloutHandler
from machine_updater.rollout import RetryPolicy


def retry_policy(settings: UpdaterSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.machine_attempts,
        initial_s=settings.retry_initial_s,
        max_s=settings.retry_max_s,
        deadline_s=settings.machine_deadline_s,
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


def make_client(settings: UpdaterSettings, http: httpx.AsyncClient) -> MachineClient:
    return HttpMachineClient(
        http,
        settings.machine_update_secret,
        update_timeout_s=settings.update_timeout_s,
        probe_timeout_s=settings.probe_timeout_s,
        connect_timeout_s=settings.connect_timeout_s,
    )


def bootstrap(
    settings: UpdaterSettings,
    *,
    publisher: Publisher,
    feed: SnapshotFeed,
    http: httpx.AsyncClient | None = None,
    fleet: Fleet | None = None,
    client: MachineClient | None = None,
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


@dataclass
class Service:
    nc: Client
    http: httpx.AsyncClient
    handler: RolloutHandler
    fleet: Fleet
    consumer: Consumer

    async def close(self) -> None:
        await self.http.aclose()
        with contextlib.suppress(Exception):
            await self.nc.drain()


async def connect_and_build(settings: UpdaterSettings, stop: asyncio.Event) -> Service | None:
    nc = await connect_until_up(settings.nats_url, settings.service_name, stop)
    if nc is None:
        return None
    js = nc.jetstream()
    await ensure_stream(js, replicas=settings.nats_replicas)
    http = make_http(settings)
    fleet = make_fleet(settings, http)
    handler = bootstrap(
        settings, publisher=Publisher(js), feed=JetStreamSnapshotFeed(js), http=http, fleet=fleet
    )
    consumer = Consumer(
        js,
        subjects.STREAM,
        subjects.MACHINE_UPDATER_DURABLE,
        [subjects.INDEX_SYNCED],
        batch_handler=handler.handle_batch,
        options=consumer_options(settings),
    )
    return Service(nc, http, handler, fleet, consumer)
