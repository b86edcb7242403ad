"""A service that starts before the broker waits for it instead of dying."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from devstack.ports import free_port
from devstack.servers import NatsServer
from showcase_common.bus import connect_until_up


async def test_connect_until_up_waits_for_a_broker_that_starts_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    connecting = asyncio.create_task(connect_until_up(f"nats://127.0.0.1:{port}", "late"))
    async with asyncio.timeout(30):  # the first attempt fails against the closed port
        while "Connect call failed" not in caplog.text:  # noqa: ASYNC110 (a log line, no event)
            await asyncio.sleep(0.05)
    assert not connecting.done()
    server = NatsServer(tmp_path / "nats", port=port)
    await asyncio.to_thread(server.start)
    try:
        nc = await asyncio.wait_for(connecting, 30)
        assert nc is not None and nc.is_connected
        await nc.close()
    finally:
        server.stop()


async def test_connect_until_up_gives_up_when_asked_to_stop() -> None:
    stop = asyncio.Event()
    connecting = asyncio.create_task(connect_until_up(f"nats://127.0.0.1:{free_port()}", "x", stop))
    stop.set()
    assert await asyncio.wait_for(connecting, 10) is None
