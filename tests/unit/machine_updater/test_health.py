"""The health server's two answers, over httpx's ASGI transport."""

from __future__ import annotations

import httpx
from machine_updater.health import health_app


async def ready_check(checks: dict[str, str]):  # type: ignore[no-untyped-def]
    async def check() -> dict[str, str]:
        return checks

    return check


async def get(checks: dict[str, str], path: str) -> httpx.Response:
    app = health_app(await ready_check(checks))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://updater") as http:
        return await http.get(path)


async def test_healthz_answers_while_alive() -> None:
    assert (await get({"nats": "disconnected"}, "/healthz")).status_code == 200


async def test_readyz_is_503_until_every_dependency_is_ok() -> None:
    down = await get({"nats": "ok", "fleet": "cannot list Fly machines: 401"}, "/readyz")
    assert down.status_code == 503 and down.json()["checks"]["fleet"].startswith("cannot")
    assert (await get({"nats": "ok", "fleet": "ok"}, "/readyz")).status_code == 200
