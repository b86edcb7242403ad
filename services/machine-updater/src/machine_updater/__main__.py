"""`python -m machine_updater`: settings → logging → bootstrap → consume until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging

from showcase_common.health import Check, create_health_app, embedded_server
from showcase_common.lifecycle import stop_on_signals
from showcase_common.logs import configure_logging

from machine_updater.bootstrap import Service, connect_and_build
from machine_updater.config import UpdaterSettings

log = logging.getLogger("machine_updater")


def readiness(service: Service) -> dict[str, Check]:
    async def nats() -> None:
        if not service.nc.is_connected:
            raise ConnectionError("disconnected")

    async def fleet() -> None:
        if not await service.fleet.machines():
            raise LookupError("no machines listed")

    return {"nats": nats, "fleet": fleet}


async def main() -> None:
    settings = UpdaterSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    stop = asyncio.Event()
    stop_on_signals(stop)
    service = await connect_and_build(settings, stop)
    if service is None:  # stopped before NATS ever answered
        return
    app = create_health_app(readiness(service), title="machine-updater")
    server = embedded_server(
        app, settings.updater_host, settings.updater_port, settings.http_limits
    )
    web = asyncio.create_task(server.serve())
    log.info("machine-updater up; health on :%d", settings.updater_port)
    try:
        await service.consumer.run(stop)
    finally:
        server.should_exit = True
        await web
        await service.close()


if __name__ == "__main__":
    asyncio.run(main())
