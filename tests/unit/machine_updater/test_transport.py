"""The updater's transport: a pool per machine, each keeping its connections alive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from machine_agent.config import AgentSettings
from machine_updater.bootstrap import make_http
from machine_updater.config import UpdaterSettings
from machine_updater.transport import PerOriginTransport

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Machine:
    """A real HTTP/1.1 server on a free port that answers every request `ok`, keeping the
    connection; it counts the connections it was given."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Machine:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def machines() -> AsyncIterator[list[Machine]]:
    started = [await Machine().start() for _ in range(3)]
    yield started
    for machine in started:
        await machine.close()


async def test_each_machine_gets_its_own_pool_and_keeps_its_connection(machines) -> None:
    transport = PerOriginTransport(httpx.Limits(max_connections=4))
    async with httpx.AsyncClient(transport=transport) as http:
        for _ in range(3):
            answers = await asyncio.gather(
                *(http.get(f"http://127.0.0.1:{m.port}/showcase/status") for m in machines)
            )
            assert [a.text for a in answers] == ["ok"] * 3
        assert transport.origins == 3
    assert [m.connections for m in machines] == [1, 1, 1]  # kept alive across the calls
    assert transport.origins == 0  # closed with the client


async def test_concurrent_calls_to_one_origin_share_its_pool_within_its_limit(machines) -> None:
    transport = PerOriginTransport(httpx.Limits(max_connections=2))
    machine = machines[0]
    async with httpx.AsyncClient(transport=transport) as http:
        answers = await asyncio.gather(
            *(http.get(f"http://127.0.0.1:{machine.port}/p{i}") for i in range(6))
        )
    assert all(a.status_code == 200 for a in answers)
    assert transport.origins == 0
    assert 1 <= machine.connections <= 2  # the limit holds for one origin (Fly: the app's URL)


async def test_an_idle_connection_is_let_go_before_a_machine_closes_it() -> None:
    """A call sent on a kept connection just as the machine closes it for idleness fails (its
    FIN was on the way): the updater must drop idle connections well before the agents do."""
    agent_closes_after_s = AgentSettings.model_fields["http_keep_alive_s"].default
    http = make_http(UpdaterSettings(_env_file=None, machine_update_secret="s" * 32))
    try:
        transport = http._transport  # the one the updater made (no public getter in httpx)
        assert isinstance(transport, PerOriginTransport)
        expiry = transport.limits.keepalive_expiry
        assert expiry is not None and expiry <= agent_closes_after_s / 2
    finally:
        await http.aclose()
