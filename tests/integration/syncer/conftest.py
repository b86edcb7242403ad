"""Helpers for the syncer against the real NATS server and the real S3 endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from devstack.ports import free_port
from nats.aio.client import Client
from nats.aio.msg import Msg
from showcase_common import events, subjects
from showcase_common.bus import Publisher, connect, ensure_kv, ensure_stream
from showcase_common.settings import S3Settings
from showcase_common.snapshots import S3SnapshotStore
from syncer.bootstrap import Syncer, SyncerPorts, make_syncer
from syncer.config import SyncerConsumerSettings, SyncerSettings
from syncer.ledger import KvLedger
from syncer.snapshot import Snapshotter

from tests.integration.syncer.indexdb import add_showcase, create_index


class Watch:
    """Every event published on the pipeline's subjects, in order (a core subscription)."""

    def __init__(self) -> None:
        self.seen: list[events.Event] = []

    async def start(self, nc: Client) -> Watch:
        async def on_msg(msg: Msg) -> None:
            self.seen.append(events.decode(msg.subject, msg.data))

        await nc.subscribe(subjects.ALL_SUBJECTS, cb=on_msg)
        return self

    def of(self, kind: type[events.Event]) -> list[Any]:
        return [e for e in self.seen if isinstance(e, kind)]

    def covered(self) -> set[str]:
        return {r.request_id for e in self.of(events.IndexSynced) for r in e.requests}

    def failed(self) -> set[str]:
        return {r.request_id for e in self.of(events.IndexSyncFailed) for r in e.requests}


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
        return SyncerSettings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]

    return make


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await connect(nats_url, "syncer-test")
    await ensure_stream(client.jetstream())
    yield client
    await client.close()


@asynccontextmanager
async def running_syncer(
    settings: SyncerSettings,
    *,
    durable: str = subjects.SYNCER_DURABLE,
    store: S3SnapshotStore | None = None,
) -> AsyncIterator[Syncer]:
    """A syncer on its own NATS connection, consuming until the block ends."""
    client = await connect(settings.nats_url, "syncer")
    js = client.jetstream()
    await ensure_stream(js)
    ledger = KvLedger(await ensure_kv(js, subjects.SYNC_LEDGER_BUCKET))
    ports = SyncerPorts(
        store=store or S3SnapshotStore.from_settings(settings),
        publisher=Publisher(js),
        ledger=ledger,
        snapshotter=Snapshotter(settings.index_db_path),
    )
    syncer = make_syncer(settings, ports)
    consumer = dataclasses.replace(syncer.consumer(), durable=durable)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(js, stop))
    try:
        yield syncer
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await client.close()


def new_request(index_db: Path, n: int) -> events.ShowcaseCreated:
    """Commit a showcase as intake would, and the event intake would emit for it."""
    showcase_id = add_showcase(index_db)
    showcase = events.ShowcaseRef(
        showcase_id=showcase_id,
        year=2026,
        location_key="studio-1",
        key=f"new-{showcase_id}",
        name=f"New Showcase {showcase_id}",
    )
    ref = events.RequestRef(
        request_id=f"req-{n}", user="studio", showcase=showcase, redirect_url="http://fleet/"
    )
    return events.ShowcaseCreated(request=ref)


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
