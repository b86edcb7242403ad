"""The fixtures' servers: local binaries here, containers where an engine answers."""

from __future__ import annotations

import time

import boto3
import pytest
from showcase_common.bus import connect, ensure_stream
from showcase_common.settings import S3Settings

from tests.support import containers
from tests.support.servers import NatsHandle


def test_without_a_docker_engine_the_guard_answers_quickly_and_the_binaries_serve() -> None:
    if containers.docker_engine_available():
        pytest.skip("a Docker engine answers here: the container path is exercised instead")
    started = time.monotonic()
    containers.docker_engine_available.cache_clear()
    assert containers.docker_engine_available() is False
    assert time.monotonic() - started < 10
    assert containers.wanted() is False


async def test_the_nats_fixture_has_jetstream(nats_server: NatsHandle, nats_url: str) -> None:
    nc = await connect(nats_url, "fixture-check")
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        ack = await js.publish("showcase.fixture_check", b"{}")
        assert ack.seq == 1
    finally:
        await nc.close()


def test_the_s3_fixture_stores_and_returns_objects(s3_settings: S3Settings) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_settings.s3_endpoint_url,
        region_name=s3_settings.s3_region,
        aws_access_key_id=s3_settings.aws_access_key_id,
        aws_secret_access_key=s3_settings.aws_secret_access_key,
    )
    s3.put_object(Bucket=s3_settings.s3_bucket, Key="probe", Body=b"hello")
    body = s3.get_object(Bucket=s3_settings.s3_bucket, Key="probe")["Body"].read()
    assert body == b"hello"


@pytest.mark.skipif(
    not containers.wanted(), reason="USE_TESTCONTAINERS=1 and a Docker engine needed"
)
def test_containers_serve_the_same_fixtures(nats_server: NatsHandle) -> None:
    assert nats_server.server is None  # a container, not the local binary
