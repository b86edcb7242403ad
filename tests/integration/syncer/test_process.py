"""`python -m syncer` as a process: health, readiness that says what is wrong, syncs, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from devstack.ports import free_port
from showcase_common import events
from showcase_common.bus import Publisher, connect
from showcase_common.settings import S3Settings
from showcase_common.snapshots import S3SnapshotStore

from tests.integration.syncer.conftest import Watch, new_request
from tests.support.metrics import Samples, moved, parse_samples, sample
from tests.support.servers import NatsHandle
from tests.support.waiting import eventually

STARTUP_S = 120.0
"""A loaded CI machine can take many seconds to import a service: a deadline, not a measure."""


@pytest.fixture
def syncer_process(
    tmp_path: Path, nats_server: NatsHandle, s3_settings: S3Settings, index_db: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    port, bucket = free_port(), f"later-{s3_settings.s3_bucket}"
    env = os.environ | {
        "NATS_URL": nats_server.url,
        "S3_ENDPOINT_URL": s3_settings.s3_endpoint_url or "",
        "S3_BUCKET": bucket,  # not created yet
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "INDEX_DB_PATH": str(index_db),
        "SYNCER_PORT": str(port),
        "SYNCER_FETCH_TIMEOUT_S": "0.2",
        "LOG_JSON": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
    )
    try:
        yield proc, f"http://127.0.0.1:{port}", bucket
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None


def _status(url: str) -> int:
    response = _get(url)
    return response.status_code if response is not None else 0


def _text(url: str) -> str:
    response = _get(url)
    return response.text if response is not None else ""


async def test_the_process_reports_readiness_syncs_rides_out_nats_and_drains(
    syncer_process: tuple[subprocess.Popen[bytes], str, str],
    nats_server: NatsHandle,
    s3_settings: S3Settings,
    index_db: Path,
) -> None:
    proc, base, bucket = syncer_process
    await eventually(lambda: _status(f"{base}/healthz") == 200, STARTUP_S, "the process to answer")
    await eventually(lambda: '"s3":"unavailable"' in _text(f"{base}/readyz"), STARTUP_S, "readyz")
    not_ready = await asyncio.to_thread(httpx.get, f"{base}/readyz", timeout=5)
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["s3"] == "unavailable"
    assert bucket not in not_ready.text  # which dependency, not its error text

    # The bucket appears empty: the syncer publishes the index at once, with no request, and
    # announces it for the updater.
    nc = await connect(nats_server.url, "test")
    watch = await Watch().start(nc)
    _create_bucket(s3_settings, bucket)
    await eventually(lambda: _status(f"{base}/readyz") == 200, STARTUP_S, "readiness")
    await eventually(lambda: bool(watch.of(events.IndexSynced)), STARTUP_S, "the first generation")
    [first] = watch.of(events.IndexSynced)
    assert (first.snapshot.generation, first.requests) == (1, [])
    store = S3SnapshotStore.from_settings(s3_settings.model_copy(update={"s3_bucket": bucket}))
    assert store.latest()[0] == first.snapshot
    await nc.close()
    await _sync_one(nats_server.url, index_db, 1)

    nats_server.stop()  # a broker restart: not ready meanwhile, consuming again after
    await eventually(lambda: '"nats":"unavailable"' in _text(f"{base}/readyz"), what="NATS down")
    nats_server.start()
    await eventually(lambda: _status(f"{base}/readyz") == 200, STARTUP_S, "readiness again")
    before = _metrics(base)
    await _sync_one(nats_server.url, index_db, 2)
    # Counted just after IndexSynced is published: the scrape may come a moment before.
    covered = "syncer_requests_covered_total"
    await eventually(lambda: moved(before, _metrics(base), covered) == 1, what="the count")
    after = _metrics(base)
    assert moved(before, after, "syncer_publications_total", outcome="published") == 1
    assert sample(after, "syncer_generation") == 3

    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0


async def _sync_one(nats_url: str, index_db: Path, n: int) -> None:
    nc = await connect(nats_url, "test")
    try:
        watch = await Watch().start(nc)
        await Publisher(nc.jetstream()).publish(new_request(index_db, n))
        await eventually(lambda: watch.covered() == {f"req-{n}"}, STARTUP_S, f"sync of req-{n}")
        assert watch.of(events.IndexSynced)[0].snapshot.generation == n + 1  # after the first
    finally:
        await nc.close()


def _metrics(base: str) -> Samples:
    response = httpx.get(f"{base}/metrics", timeout=5)
    assert response.status_code == 200
    return parse_samples(response.text)


def _create_bucket(s3_settings: S3Settings, bucket: str) -> None:
    boto3.client(
        "s3",
        endpoint_url=s3_settings.s3_endpoint_url,
        region_name=s3_settings.s3_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=bucket)
