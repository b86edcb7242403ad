"""Fixtures for the real servers: NATS with JetStream and an S3-compatible store.

Each test gets its own nats-server (about 20 ms to start) with a temporary store, so streams
never leak between tests. The S3 store is started once per session; each test gets its own
bucket. `NATS_URL` / `S3_ENDPOINT_URL` in the environment make the fixtures use existing
servers instead (the stream is then deleted before each test); `USE_TESTCONTAINERS=1` on a
machine with a Docker engine uses containers instead (tests/support/containers.py).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import nats
import pytest
from devstack.servers import NatsServer, WeedS3
from nats.js.errors import NotFoundError
from showcase_common import subjects
from showcase_common.settings import S3Settings

from tests.support import containers


@dataclass
class NatsHandle:
    url: str
    server: NatsServer | None

    def restart(self) -> None:
        """Stop and start the server on the same port and store (a broker restart)."""
        assert self.server is not None, "cannot restart an external NATS server"
        self.server.stop()
        self.server.start()

    def stop(self) -> None:
        assert self.server is not None, "cannot stop an external NATS server"
        self.server.stop()

    def start(self) -> None:
        assert self.server is not None
        self.server.start()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsHandle]:
    external = os.environ.get("NATS_URL")
    if external:
        yield NatsHandle(external, None)
        return
    if containers.wanted():
        with containers.nats_container() as url:
            yield NatsHandle(url, None)
        return
    server = NatsServer(tmp_path / "nats")
    url = server.start()
    try:
        yield NatsHandle(url, server)
    finally:
        server.stop()


@pytest.fixture
async def nats_url(nats_server: NatsHandle) -> AsyncIterator[str]:
    if nats_server.server is None:  # a shared server: start each test from an empty stream
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        for stream in (subjects.STREAM, subjects.DEAD_LETTER_STREAM):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)
        await nc.close()
    yield nats_server.url


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("S3_ENDPOINT_URL")
    if external:
        yield external
        return
    if containers.wanted():
        with containers.minio_container() as url:
            yield url
        return
    server = WeedS3(tmp_path_factory.mktemp("s3"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def s3_settings(s3_endpoint: str) -> S3Settings:
    """Settings naming a fresh, existing bucket on the session's S3 endpoint."""
    return fresh_bucket(s3_endpoint)


def fresh_bucket(s3_endpoint: str) -> S3Settings:
    """Settings naming a new, existing bucket on `s3_endpoint`."""
    settings = S3Settings(
        s3_endpoint_url=s3_endpoint,
        s3_bucket=f"test-{uuid.uuid4().hex[:12]}",
        aws_access_key_id="test",
        aws_secret_access_key="testtest",
    )
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=settings.s3_region,
        aws_access_key_id="test",
        aws_secret_access_key="testtest",
    )
    client.create_bucket(Bucket=settings.s3_bucket)
    return settings
