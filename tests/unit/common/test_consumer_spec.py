"""`ConsumerSpec`: the handler table, its dispatch and its filter; `ConsumerSettings` by prefix."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from machine_updater.config import UpdaterSettings
from nats.aio.msg import Msg
from progress_gateway.config import GatewaySettings
from showcase_common import events
from showcase_common.bus import ConsumerSpec, Delivery, PermanentError, consumer_options
from syncer.config import SyncerSettings

from tests.unit.syncer.helpers import request


def _delivery(event: events.Event) -> Delivery:
    return Delivery(event, Msg(_client=None))  # type: ignore[arg-type]  # never settled here


def _created(n: int) -> Delivery:
    return _delivery(events.ShowcaseCreated(request=request(n)))


def _failed(n: int) -> Delivery:
    return _delivery(events.IndexSyncFailed(requests=[request(n)], error="x"))


async def test_each_event_goes_to_the_handler_of_its_type() -> None:
    seen: list[tuple[str, str]] = []

    async def on_created(d: Delivery) -> None:
        seen.append(("created", d.request_id or ""))

    async def on_failed(d: Delivery) -> None:
        seen.append(("failed", d.request_id or ""))

    spec = ConsumerSpec(
        "t", handles={events.ShowcaseCreated: on_created, events.IndexSyncFailed: on_failed}
    )
    for delivery in (_created(1), _failed(2), _created(3)):
        await spec.handle(delivery)
    assert seen == [("created", "r1"), ("failed", "r2"), ("created", "r3")]
    assert spec.filter_subjects == ["showcase.created", "showcase.index.sync_failed"]
    assert not spec.batched


async def test_a_batch_is_split_by_handler_keeping_stream_order() -> None:
    calls: list[tuple[str, list[str]]] = []

    def recorder(name: str):
        async def handle(batch: Sequence[Delivery]) -> None:
            calls.append((name, [d.request_id or "" for d in batch]))

        return handle

    shared, other = recorder("shared"), recorder("other")
    spec = ConsumerSpec(
        "t",
        handles_batches={
            events.ShowcaseCreated: shared,
            events.RetryRequested: shared,
            events.IndexSyncFailed: other,
        },
    )
    retry = _delivery(events.RetryRequested(request=request(3), from_step="sync"))
    await spec.handle_batch([_created(1), _failed(2), retry, _created(4)])
    assert calls == [("shared", ["r1", "r3", "r4"]), ("other", ["r2"])]
    assert spec.batched


async def test_an_event_without_a_handler_is_a_permanent_failure() -> None:
    async def ignore(_d: Delivery) -> None:
        return None

    spec = ConsumerSpec("t", handles={events.ShowcaseCreated: ignore})
    with pytest.raises(PermanentError, match="no handler for IndexSyncFailed"):
        await spec.handle(_failed(1))


def test_a_spec_has_exactly_one_kind_of_table() -> None:
    async def one(_d: Delivery) -> None:
        return None

    async def many(_b: Sequence[Delivery]) -> None:
        return None

    with pytest.raises(ValueError, match="exactly one"):
        ConsumerSpec("t")
    with pytest.raises(ValueError, match="exactly one"):
        ConsumerSpec(
            "t",
            handles={events.ShowcaseCreated: one},
            handles_batches={events.RetryRequested: many},
        )


def test_consumer_settings_are_read_with_the_service_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")
    monkeypatch.setenv("SYNCER_BATCH_SIZE", "7")
    monkeypatch.setenv("SYNCER_ACK_WAIT_S", "20")
    monkeypatch.setenv("PROJECTOR_FETCH_TIMEOUT_S", "0.5")
    syncer = SyncerSettings(_env_file=None).consumer
    assert (syncer.batch_size, syncer.ack_wait_s, syncer.heartbeat) == (7, 20.0, 5.0)
    gateway = GatewaySettings(_env_file=None).consumer
    assert (gateway.fetch_timeout_s, gateway.batch_size) == (0.5, 64)
    options = consumer_options(syncer)
    assert (options.batch_size, options.ack_wait_s, options.max_deliver) == (7, 20.0, 10)


def test_the_updater_still_reads_its_older_unprefixed_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")
    monkeypatch.setenv("ACK_WAIT_S", "30")
    monkeypatch.setenv("BATCH_SIZE", "4")
    consumer = UpdaterSettings(_env_file=None).consumer
    assert (consumer.ack_wait_s, consumer.batch_size, consumer.heartbeat) == (30.0, 4, 0.5)
    monkeypatch.setenv("UPDATER_ACK_WAIT_S", "40")  # the prefixed name wins
    assert UpdaterSettings(_env_file=None).consumer.ack_wait_s == 40.0
