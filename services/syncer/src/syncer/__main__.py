"""`python -m syncer`: settings → logging → bootstrap → run until SIGTERM, then drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client
from showcase_common import subjects
from showcase_common.bus import Publisher, connect_until_up, ensure_kv, ensure_stream
from showcase_common.health import create_health_app, embedded_server
from showcase_common.lifecycle import stop_on_signals
from showcase_common.logs import configure_logging
from showcase_common.snapshots import SnapshotStore, SnapshotStoreError

from syncer.bootstrap import bootstrap
from syncer.config import SyncerSettings
from syncer.ledger import KvLedger

log = logging.getLogger("syncer")


class _Bus:
    """The NATS connection once there is one (readyz asks before it exists)."""

    nc: Client | None = None

    async def check(self) -> None:
        if self.nc is None or not self.nc.is_connected:
            raise ConnectionError("not connected to NATS")


async def run(settings: SyncerSettings, stop: asyncio.Event) -> None:
    store = SnapshotStore.from_settings(settings)
    if settings.syncer_create_bucket:
        with contextlib.suppress(SnapshotStoreError):  # /readyz will say why
            await asyncio.to_thread(store.ensure_bucket)
    bus = _Bus()

    async def bucket() -> None:
        await asyncio.to_thread(store.check_bucket)

    app = create_health_app({"nats": bus.check, "s3": bucket}, title="syncer")
    server = embedded_server(app, settings.syncer_host, settings.syncer_port, settings.http_limits)
    http = asyncio.create_task(server.serve())
    try:
        bus.nc = await connect_until_up(settings.nats_url, settings.service_name, stop)
        if bus.nc is not None:
            await _consume(settings, store, bus.nc, stop)
    finally:
        server.should_exit = True
        await http
        if bus.nc is not None:
            with contextlib.suppress(Exception):
                await bus.nc.drain()


async def _consume(
    settings: SyncerSettings, store: SnapshotStore, nc: Client, stop: asyncio.Event
) -> None:
    js = nc.jetstream()
    await ensure_stream(js, replicas=settings.nats_replicas)
    ledger = KvLedger(
        await ensure_kv(js, subjects.SYNC_LEDGER_BUCKET, replicas=settings.nats_replicas)
    )
    syncer = bootstrap(settings, store=store, publisher=Publisher(js), ledger=ledger)
    log.info("syncing %s to s3://%s", settings.index_db_path, settings.s3_bucket)
    first = asyncio.create_task(syncer.publish_first_generation(stop))
    try:
        await syncer.consumer(js).run(stop)
    finally:
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first


async def _main(settings: SyncerSettings) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    await run(settings, stop)


def main() -> None:
    settings = SyncerSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    asyncio.run(_main(settings))


if __name__ == "__main__":
    main()
