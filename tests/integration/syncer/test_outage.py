"""S3 outages: a short one is ridden out within the budget, a long one fails the requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devstack.ports import free_port
from nats.aio.client import Client
from showcase_common import events
from showcase_common.bus import Publisher
from showcase_common.settings import S3Settings
from syncer.config import SyncerSettings

from tests.integration.syncer.conftest import Gate, Watch, new_request, running_syncer
from tests.integration.syncer.test_syncer_bus import until_settled
from tests.support.waiting import eventually

MakeSettings = Callable[..., SyncerSettings]


async def test_an_outage_shorter_than_the_budget_is_ridden_out(
    nc: Client, make_settings: MakeSettings, s3_settings: S3Settings, index_db: Path
) -> None:
    gate = Gate(s3_settings.s3_endpoint_url or "")
    settings = make_settings(
        s3_endpoint_url=gate.url, syncer_s3_attempts=10, syncer_s3_backoff_max_s=0.5
    )
    watch = await Watch().start(nc)
    async with running_syncer(settings):  # the gate is closed: S3 is down
        await Publisher(nc.jetstream()).publish(new_request(index_db, 1))
        await eventually(lambda: bool(watch.of(events.IndexSyncRetrying)), what="a retry")
        await gate.open()  # S3 is back
        try:
            await eventually(lambda: watch.covered() == {"req-1"}, what="the sync after the outage")
        finally:
            await gate.close()

    first = watch.of(events.IndexSyncRetrying)[0]
    assert (first.attempt, first.max_attempts, first.reason) == (2, 10, "storage_unavailable")
    assert [r.request_id for r in first.requests] == ["req-1"]
    assert not watch.of(events.IndexSyncFailed)


async def test_an_outage_longer_than_the_budget_fails_each_request_clearly(
    nc: Client, make_settings: MakeSettings, index_db: Path
) -> None:
    settings = make_settings(s3_endpoint_url=f"http://127.0.0.1:{free_port()}")  # nobody there
    watch = await Watch().start(nc)
    async with running_syncer(settings):
        publisher = Publisher(nc.jetstream())
        for n in range(3):
            await publisher.publish(new_request(index_db, n))
        await eventually(lambda: watch.failed() == {"req-0", "req-1", "req-2"}, what="the failures")
        await until_settled(nc)  # acked: the request failed, the message is not redelivered

    assert {e.reason for e in watch.of(events.IndexSyncFailed)} == {"storage_unavailable"}
    assert not watch.of(events.IndexSynced)
    assert len(watch.of(events.IndexSyncRetrying)) >= 2
