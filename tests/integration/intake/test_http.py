"""Over real HTTP (uvicorn on a free port): intake starts and takes requests while NATS is down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import nats
from intake.bootstrap import ports
from intake.seed import seed
from showcase_common import subjects

from tests.integration.intake.conftest import UvicornThread, real_settings
from tests.support.servers import NatsHandle
from tests.support.waiting import eventually
from tests.unit.intake.conftest import STUDIO, in_process


async def _stream_size(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(subjects.STREAM)).state.messages
    finally:
        await nc.close()


async def test_serves_while_nats_is_down_and_delivers_once_it_is_up(
    tmp_path: Path, nats_server: NatsHandle
) -> None:
    nats_server.stop()  # NATS is down before intake even starts
    settings = real_settings(tmp_path, nats_server.url)
    seed(settings.index_db_path)
    app = in_process(settings, ports(settings), background=True)
    with UvicornThread(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["bus"] == "down"

            response = await client.post(
                "/api/showcases",
                json={"name": "Offline Gala", "location_id": 1},
                auth=STUDIO,
                headers={"X-Request-ID": "trace-123", "Idempotency-Key": "k"},
            )
            assert response.status_code == 201
            assert response.headers["x-request-id"] == "trace-123"
            status = await client.get(response.json()["status_url"], auth=STUDIO)
            assert status.json()["status"] == "queued"
            again = await client.post(
                "/api/showcases",
                json={"name": "Offline Gala", "location_id": 1},
                auth=STUDIO,
                headers={"Idempotency-Key": "k"},
            )
            # The same showcase and request again, with a progress token of its own.
            first, replay = response.json(), again.json()
            assert replay.pop("progress")["token"] and first.pop("progress")
            assert replay == first and again.headers["idempotent-replayed"] == "true"
            docs = await client.get("/openapi.json")
            assert "/api/showcases" in docs.json()["paths"]

            await asyncio.to_thread(nats_server.start)

            async def ready_now() -> bool:
                return (await client.get("/readyz")).status_code == 200

            async def delivered() -> bool:
                return await _stream_size(nats_server.url) == 1

            await eventually(ready_now)
            await eventually(delivered)
