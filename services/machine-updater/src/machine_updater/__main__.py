"""`python -m machine_updater`: settings → logging → bootstrap → consume until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging

from showcase_common.lifecycle import stop_on_signals
from showcase_common.logs import configure_logging

from machine_updater.bootstrap import Service, connect_and_build
from machine_updater.config import UpdaterSettings
from machine_updater.fleet import FleetError
from machine_updater.health import health_server

log = logging.getLogger("machine_updater")


def readiness(service: Service):  # type: ignore[no-untyped-def]
    async def check() -> dict[str, str]:
        checks = {"nats": "ok" if service.nc.is_connected else "disconnected"}
        try:
            machines = await service.fleet.machines()
            checks["fleet"] = "ok" if machines else "no machines listed"
        except FleetError as exc:
            checks["fleet"] = str(exc)
        return checks

    return check


async def main() -> None:
    settings = UpdaterSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    stop = asyncio.Event()
    stop_on_signals(stop)
    service = await connect_and_build(settings, stop)
    if service is None:  # stopped before NATS ever answered
        return
    server = health_server(readiness(service), settings.updater_host, settings.updater_port)
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
