"""The updater's readiness checks, over httpx's ASGI transport."""

from __future__ import annotations

import httpx
from machine_updater.bootstrap import readiness
from showcase_common.health import create_health_app


class _Nats:
    def __init__(self, connected: bool) -> None:
        self.is_connected = connected


class _Fleet:
    def __init__(self, machines: list[str] | Exception) -> None:
        self._machines = machines

    async def machines(self) -> list[str]:
        if isinstance(self._machines, Exception):
            raise self._machines
        return self._machines


class _Service:
    def __init__(self, connected: bool, machines: list[str] | Exception) -> None:
        self.nc = _Nats(connected)
        self.fleet = _Fleet(machines)


async def _get(service: _Service, path: str) -> httpx.Response:
    async def nats() -> None:
        if not service.nc.is_connected:
            raise ConnectionError("disconnected")

    app = create_health_app(readiness(nats, service.fleet))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://updater") as http:
        return await http.get(path)


async def test_healthz_answers_while_alive() -> None:
    assert (await _get(_Service(False, []), "/healthz")).status_code == 200


async def test_readyz_is_503_and_names_each_dependency_that_is_not_ok() -> None:
    down = await _get(_Service(True, RuntimeError("cannot list Fly machines: 401")), "/readyz")
    assert down.status_code == 503
    assert down.json()["checks"] == {"nats": "ok", "fleet": "unavailable"}
    assert "401" not in down.text  # why is logged, not shown
    empty = await _get(_Service(False, []), "/readyz")
    assert empty.json()["checks"] == {"nats": "unavailable", "fleet": "unavailable"}
    assert (await _get(_Service(True, ["m1"]), "/readyz")).status_code == 200
