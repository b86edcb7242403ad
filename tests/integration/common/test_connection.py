"""A service that starts before the broker waits for it instead of dying: the one link."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from devstack.ports import free_port
from devstack.servers import NatsServer
from showcase_common.bus.link import NatsLink, NotConnected


async def test_the_link_waits_for_a_broker_that_starts_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    link = NatsLink(f"nats://127.0.0.1:{port}", "late", retry_s=0.1)
    stop = asyncio.Event()
    connecting = asyncio.create_task(link.run(stop))
    async with asyncio.timeout(30):  # the first attempt fails against the closed port
        while "Connect call failed" not in caplog.text:  # noqa: ASYNC110 (a log line, no event)
            await asyncio.sleep(0.05)
    assert not connecting.done()
    with pytest.raises(NotConnected):
        link.jetstream()
    server = NatsServer(tmp_path / "nats", port=port)
    await asyncio.to_thread(server.start)
    try:
        assert await asyncio.wait_for(connecting, 30) is True
        assert link.connected and link.jetstream() is not None
        await link.close()
    finally:
        server.stop()


async def test_the_link_gives_up_when_asked_to_stop() -> None:
    stop = asyncio.Event()
    link = NatsLink(f"nats://127.0.0.1:{free_port()}", "x")
    connecting = asyncio.create_task(link.run(stop))
    stop.set()
    assert await asyncio.wait_for(connecting, 10) is False
    assert not link.connected
