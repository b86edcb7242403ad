"""The composition root: builds the gateway from settings; collaborators can be passed in."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from nats.aio.client import Client
from nats.js.client import JetStreamContext
from showcase_common import subjects
from showcase_common.bus import (
    Consumer,
    ConsumerOptions,
    connect_until_up,
    ensure_kv,
    ensure_stream,
)

from progress_gateway.app import create_app
from progress_gateway.config import GatewaySettings
from progress_gateway.feed import Feed, KvFeedSource
from progress_gateway.projection import Links
from progress_gateway.projector import Projector
from progress_gateway.runtime import Runtime
from progress_gateway.store import KvProgressStore, ProgressStore


def build_projector(settings: GatewaySettings, store: ProgressStore) -> Projector:
    return Projector(store, Links(settings.public_intake_url, settings.public_fleet_url))


async def start_runtime(settings: GatewaySettings, *, nc: Client | None = None) -> Runtime:
    """Connect, declare, start the feed and (unless disabled) the projector."""
    own_connection = nc is None
    nc = nc or await connect_until_up(settings.nats_url, settings.service_name)
    assert nc is not None  # without a stop event, it waits for NATS
    js = nc.jetstream()
    await ensure_stream(js, replicas=settings.nats_replicas)
    kv = await ensure_kv(js, subjects.REQUEST_STATE_BUCKET, replicas=settings.nats_replicas)
    runtime = Runtime(settings=settings, store=KvProgressStore(kv), feed=Feed())
    if own_connection:
        runtime.closers.append(nc.drain)
    source = KvFeedSource(js, subjects.REQUEST_STATE_BUCKET, runtime.feed)
    await source.start()
    runtime.closers.append(source.stop)

    async def nats_connected() -> bool:
        return bool(nc.is_connected)

    runtime.readiness["nats"] = nats_connected
    if settings.projector_enabled:
        _start_projector(runtime, js)
    return runtime


def _start_projector(runtime: Runtime, js: JetStreamContext) -> None:
    projector = build_projector(runtime.settings, runtime.store)
    consumer = Consumer(
        js,
        subjects.STREAM,
        subjects.PROGRESS_DURABLE,
        subjects.PROGRESS_SUBJECTS,
        handler=projector.handle,
        options=ConsumerOptions(
            batch_size=20, fetch_timeout_s=runtime.settings.projector_fetch_timeout_s
        ),
    )
    task = asyncio.create_task(consumer.run(runtime.stop), name="projector")
    runtime.tasks.append(task)

    async def projector_running() -> bool:
        return not task.done()

    runtime.readiness["projector"] = projector_running


def build_app(settings: GatewaySettings) -> FastAPI:
    return create_app(settings, start_runtime)
