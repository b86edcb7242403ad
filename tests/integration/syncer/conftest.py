"""Helpers for the syncer against the real NATS server and the real S3 endpoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from devstack.ports import free_port
from nats.aio.client import Client
from showcase_common.bus import connect, ensure_stream
from showcase_common.settings import S3Settings
from syncer.config import SyncerConsumerSettings, SyncerSettings

from tests.integration.syncer.indexdb import create_index
from tests.support.syncer import Watch, new_request, running_syncer

__all__ = ["Gate", "Watch", "new_request", "running_syncer"]


@pytest.fixture
def index_db(tmp_path: Path) -> Path:
    path = tmp_path / "index" / "index.sqlite3"
    create_index(path)
    return path


@pytest.fixture
def make_settings(
    tmp_path: Path, nats_url: str, s3_settings: S3Settings, index_db: Path
) -> Callable[..., SyncerSettings]:
    def make(**overrides: Any) -> SyncerSettings:
        values: dict[str, Any] = s3_settings.model_dump() | {
            "nats_url": nats_url,
            "index_db_path": index_db,
            "syncer_work_dir": tmp_path / "staging",
            "consumer": SyncerConsumerSettings(fetch_timeout_s=0.2),
            "syncer_s3_attempts": 3,
            "syncer_s3_backoff_initial_s": 0.05,
            "syncer_s3_backoff_max_s": 0.2,
        }
        return SyncerSettings(_env_file=None, **(values | overrides))

    return make


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await connect(nats_url, "syncer-test")
    await ensure_stream(client.jetstream())
    yield client
    await client.close()


class Gate:
    """A TCP relay in front of the S3 endpoint: closed, its port refuses connections (an outage)."""

    def __init__(self, upstream_url: str) -> None:
        host_port = upstream_url.split("://", 1)[1].rstrip("/")
        self._host, port = host_port.rsplit(":", 1)
        self._port = int(port)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, reuse_address=True
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):  # pooled keep-alive connections die too
            writer.transport.abort()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._open.difference_update((writer, up_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    writer.close()
