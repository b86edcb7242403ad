"""The one consumer loop against a real nats-server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.js.client import JetStreamContext
from prometheus_client import REGISTRY
from showcase_common import events, subjects
from showcase_common.bus import (
    Backoff,
    Consumer,
    ConsumerOptions,
    Delivery,
    PermanentError,
    Publisher,
    RetryableError,
    connect,
    ensure_consumer,
    ensure_stream,
)

from tests.support.waiting import eventually


def _created(request_id: str = "r1") -> events.ShowcaseCreated:
    showcase = events.ShowcaseRef(
        showcase_id=1, year=2026, location_key="boston", key="spring", name="Spring"
    )
    ref = events.RequestRef(
        request_id=request_id, user="studio", showcase=showcase, redirect_url="http://x/"
    )
    return events.ShowcaseCreated(request=ref)


@pytest.fixture
async def js(nats_url: str):
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    await ensure_stream(js)
    yield js
    await nc.close()


def _on_created(js: JetStreamContext, durable: str, **handler_and_options: Any) -> Consumer:
    """A consumer of ShowcaseCreated on the pipeline's stream, under its own durable."""
    return Consumer(
        js, subjects.STREAM, durable, [subjects.SHOWCASE_CREATED], **handler_and_options
    )


async def _run(consumer: Consumer, until: asyncio.Event) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(until.wait(), 20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_publish_sets_msg_id_and_duplicates_are_dropped(js) -> None:
    publisher = Publisher(js)
    event = _created()
    first = await publisher.publish(event)
    again = await publisher.publish(event)
    assert not first.duplicate
    assert again.duplicate
    info = await js.stream_info(subjects.STREAM)
    assert info.state.messages == 1


async def test_handler_success_acks_once(js) -> None:
    await Publisher(js).publish(_created())
    seen: list[Delivery] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery)
        done.set()

    consumer = _on_created(js, "t-ok", handler=handler)
    await _run(consumer, done)
    info = await js.consumer_info(subjects.STREAM, "t-ok")
    assert [d.event.request.request_id for d in seen] == ["r1"]  # type: ignore[attr-defined]
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_retryable_error_is_redelivered_until_it_succeeds(js) -> None:
    await Publisher(js).publish(_created())
    attempts: list[int] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if len(attempts) < 3:
            raise RetryableError("S3 down")
        done.set()

    options = ConsumerOptions(backoff=Backoff(base_s=0.05, cap_s=0.1), fetch_timeout_s=0.2)
    consumer = _on_created(js, "t-retry", handler=handler, options=options)
    await _run(consumer, done)
    assert attempts == [1, 2, 3]


async def test_permanent_error_and_garbage_are_terminated_not_retried(js) -> None:
    await js.publish(subjects.SHOWCASE_CREATED, b"{not json", headers={"Nats-Msg-Id": "garbage"})
    await Publisher(js).publish(_created("bad"))
    await Publisher(js).publish(_created("good"))
    calls: list[str] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        rid = delivery.event.request.request_id  # type: ignore[attr-defined]
        calls.append(rid)
        if rid == "bad":
            raise PermanentError("refused")
        done.set()

    options = ConsumerOptions(fetch_timeout_s=0.2, backoff=Backoff(base_s=0.05, cap_s=0.05))
    consumer = _on_created(js, "t-perm", handler=handler, options=options)
    await _run(consumer, done)
    assert calls == ["bad", "good"]
    info = await js.consumer_info(subjects.STREAM, "t-perm")
    assert info.num_ack_pending == 0 and info.num_redelivered == 0


async def test_long_handler_keeps_its_lease_with_heartbeats(js) -> None:
    await Publisher(js).publish(_created())
    attempts: list[int] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        await asyncio.sleep(2.5)  # longer than ack_wait: only the heartbeats keep the lease
        done.set()

    options = ConsumerOptions(ack_wait_s=1.0, heartbeat_s=0.3, fetch_timeout_s=0.2)
    consumer = _on_created(js, "t-long", handler=handler, options=options)
    await _run(consumer, done)
    assert attempts == [1]


async def test_batch_handler_gets_every_pending_message_at_once(js) -> None:
    for i in range(5):
        await Publisher(js).publish(_created(f"r{i}"))
    batches: list[list[str]] = []
    done = asyncio.Event()

    async def handler(deliveries) -> None:
        batches.append([d.event.request.request_id for d in deliveries])
        if sum(map(len, batches)) == 5:
            done.set()

    options = ConsumerOptions(batch_size=50, fetch_timeout_s=0.2)
    consumer = _on_created(js, "t-batch", batch_handler=handler, options=options)
    await _run(consumer, done)
    assert batches == [[f"r{i}" for i in range(5)]]


async def _dead_letters(js) -> list:
    from showcase_common.bus.dead_letters import dead_letter_subject

    sub = await js.pull_subscribe(dead_letter_subject("*"), stream=subjects.DEAD_LETTER_STREAM)
    try:
        return await sub.fetch(10, timeout=1)
    except TimeoutError:
        return []


async def test_undecodable_and_exhausted_messages_are_dead_lettered_with_their_error(js) -> None:
    await js.publish(subjects.SHOWCASE_CREATED, b"{not json", headers={"Nats-Msg-Id": "garbage"})
    await Publisher(js).publish(_created("doomed"))
    attempts: list[int] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if len(attempts) == 3:
            done.set()
        raise RetryableError("machine down")

    options = ConsumerOptions(
        max_deliver=3, fetch_timeout_s=0.2, backoff=Backoff(base_s=0.05, cap_s=0.05)
    )
    consumer = _on_created(js, "t-dlq", handler=handler, options=options)
    await _run(consumer, done)
    letters = await _dead_letters(js)
    assert attempts == [1, 2, 3]
    assert [m.headers["Dlq-Original-Seq"] for m in letters] == ["1", "2"]
    assert "invalid ShowcaseCreated" in letters[0].headers["Dlq-Error"]
    assert letters[1].headers["Dlq-Error"] == "RetryableError: machine down"
    assert letters[1].headers["Dlq-Attempts"] == "3"


def _handled(durable: str, outcome: str) -> float:
    labels = {"durable": durable, "subject": subjects.SHOWCASE_CREATED, "outcome": outcome}
    return REGISTRY.get_sample_value("showcase_events_handled_total", labels) or 0.0


async def test_every_settlement_is_counted_by_outcome(js) -> None:
    await js.publish(subjects.SHOWCASE_CREATED, b"{not json", headers={"Nats-Msg-Id": "garbage"})
    for request_id in ("flaky", "bad", "good"):
        await Publisher(js).publish(_created(request_id))
    tries: dict[str, int] = {}
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        rid = delivery.event.request.request_id  # type: ignore[attr-defined]
        tries[rid] = tries.get(rid, 0) + 1
        if rid == "bad":
            raise PermanentError("refused")
        if rid == "flaky" and tries[rid] == 1:
            raise RetryableError("S3 down")
        if tries.get("flaky") == 2 and "good" in tries:
            done.set()

    options = ConsumerOptions(fetch_timeout_s=0.2, backoff=Backoff(base_s=0.05, cap_s=0.05))
    consumer = _on_created(js, "t-metrics", handler=handler, options=options)
    await _run(consumer, done)

    assert _handled("t-metrics", "acked") == 2  # good, and flaky on its second delivery
    assert _handled("t-metrics", "retried") == 1
    assert _handled("t-metrics", "dead_lettered") == 2  # the garbage and the refused one
    count = REGISTRY.get_sample_value("showcase_handler_seconds_count", {"durable": "t-metrics"})
    assert count == 4  # every delivery that reached the handler, timed


async def test_messages_queued_behind_a_slow_one_keep_their_lease(js) -> None:
    """A second replica on the same durable must not be handed what the first still holds."""
    for request_id in ("r1", "r2", "r3"):
        await Publisher(js).publish(_created(request_id))
    first: list[tuple[str, int]] = []
    second: list[str] = []
    started, done = asyncio.Event(), asyncio.Event()

    async def slow(delivery: Delivery) -> None:
        first.append((delivery.event.request.request_id, delivery.attempt))  # type: ignore[attr-defined]
        started.set()
        await asyncio.sleep(0.6)  # r3 waits 1.2 s for its turn: longer than the ack wait
        if len(first) == 3:
            done.set()

    async def other_replica(delivery: Delivery) -> None:
        second.append(delivery.event.request.request_id)  # type: ignore[attr-defined]

    options = ConsumerOptions(ack_wait_s=1.0, heartbeat_s=0.3, batch_size=3, fetch_timeout_s=0.2)

    def replica(handler) -> Consumer:
        return _on_created(js, "t-queued", handler=handler, options=options)

    stop = asyncio.Event()
    one = asyncio.create_task(replica(slow).run(stop))
    await asyncio.wait_for(started.wait(), 20)  # the first replica holds all three
    two = asyncio.create_task(replica(other_replica).run(stop))
    await asyncio.wait_for(done.wait(), 20)
    stop.set()
    await asyncio.wait_for(asyncio.gather(one, two), 10)

    assert first == [("r1", 1), ("r2", 1), ("r3", 1)]
    assert second == []


async def _polling(js, durable: str) -> bool:
    """The consumer has a pull request waiting on the server: its loop is idle in a poll."""
    try:
        return (await js.consumer_info(subjects.STREAM, durable)).num_waiting > 0
    except Exception:  # not declared yet
        return False


async def test_an_idle_consumer_hands_over_a_lone_message_before_its_long_poll_ends(js) -> None:
    """A message that arrives while the loop waits in a poll for a whole batch is handled on
    arrival, not when the poll expires (20 s here; the test allows 5 s per message)."""
    handled: asyncio.Queue[str] = asyncio.Queue()

    async def handler(delivery: Delivery) -> None:
        await handled.put(delivery.event.request.request_id)  # type: ignore[attr-defined]

    options = ConsumerOptions(batch_size=20, fetch_timeout_s=20.0)
    consumer = _on_created(js, "t-idle", handler=handler, options=options)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for request_id in ("first", "second"):
            await eventually(lambda: _polling(js, "t-idle"), 10, "the loop waiting in a poll")
            await Publisher(js).publish(_created(request_id))  # ...arrives at an idle loop
            assert await asyncio.wait_for(handled.get(), 5) == request_id
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_a_bad_message_in_a_batch_is_dead_lettered_alone_after_one_delivery(js) -> None:
    """One bad and two good messages in one fetch: the good ones are processed, the bad one is
    dead-lettered at once (an id NATS KV would refuse, a number out of range), not retried."""
    good_1, good_2 = _created("good-1"), _created("good-2")
    await Publisher(js).publish(good_1)
    bad = events.encode(_created("bad")).replace(b'"bad"', b'"bad."')  # a key KV refuses
    await js.publish(subjects.SHOWCASE_CREATED, bad, headers={"Nats-Msg-Id": "bad"})
    await Publisher(js).publish(good_2)
    handled: list[list[str]] = []
    done = asyncio.Event()

    async def handler(deliveries) -> None:
        handled.append([d.event.request.request_id for d in deliveries])
        done.set()

    options = ConsumerOptions(batch_size=10, fetch_timeout_s=0.2)
    consumer = _on_created(js, "t-batch-bad", batch_handler=handler, options=options)
    await _run(consumer, done)
    assert handled == [["good-1", "good-2"]]
    letters = await _dead_letters(js)
    assert [(m.headers["Dlq-Original-Seq"], m.headers["Dlq-Attempts"]) for m in letters] == [
        ("2", "1")
    ]
    info = await js.consumer_info(subjects.STREAM, "t-batch-bad")
    assert info.num_ack_pending == 0 and info.num_redelivered == 0


async def test_a_batch_that_fails_for_good_is_retried_one_by_one(js) -> None:
    """The handler refuses the batch because of one message it cannot name: each message is then
    handled alone, so only that one is dead-lettered and its neighbours are acked."""
    for request_id in ("a", "poison", "b"):
        await Publisher(js).publish(_created(request_id))
    calls: list[list[str]] = []
    done = asyncio.Event()

    async def handler(deliveries) -> None:
        ids = [d.event.request.request_id for d in deliveries]
        calls.append(ids)
        if ids == ["b"]:
            done.set()
        if "poison" in ids:
            raise PermanentError("the snapshot cannot cover a poisoned request")

    options = ConsumerOptions(batch_size=10, fetch_timeout_s=0.2)
    consumer = _on_created(js, "t-batch-split", batch_handler=handler, options=options)
    await _run(consumer, done)
    assert calls == [["a", "poison", "b"], ["a"], ["poison"], ["b"]]
    letters = await _dead_letters(js)
    assert [m.headers["Dlq-Original-Seq"] for m in letters] == ["2"]
    assert letters[0].headers["Dlq-Attempts"] == "1"
    assert letters[0].headers["Dlq-Error"].startswith("permanent: ")
    info = await js.consumer_info(subjects.STREAM, "t-batch-split")
    assert info.num_ack_pending == 0 and info.num_redelivered == 0


async def test_after_a_server_restart_the_loop_pulls_on_a_fresh_inbox(nats_server) -> None:
    """A restarted server has forgotten the old pull requests: the loop must not keep waiting on
    them. After the reconnect it is on a new subscription and handles what is published next."""
    nc = await connect(nats_server.url, "test")
    js = nc.jetstream()
    await ensure_stream(js)
    handled: asyncio.Queue[str] = asyncio.Queue()

    async def handler(delivery: Delivery) -> None:
        await handled.put(delivery.event.request.request_id)  # type: ignore[attr-defined]

    options = ConsumerOptions(batch_size=20, fetch_timeout_s=30.0)  # one long poll at a time
    consumer = _on_created(js, "t-reconnect", handler=handler, options=options)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await Publisher(js).publish(_created("before"))
        assert await asyncio.wait_for(handled.get(), 20) == "before"
        first_inbox = consumer.inbox
        await eventually(lambda: _polling(js, "t-reconnect"), 10, "the loop waiting in a poll")
        count = nc.stats["reconnects"]
        await asyncio.to_thread(nats_server.restart)
        await eventually(lambda: _reconnected(nc, count), 30, "the client reconnected")
        await Publisher(js).publish(_created("after"))
        assert await asyncio.wait_for(handled.get(), 20) == "after"
        assert consumer.inbox is not None and consumer.inbox != first_inbox
    finally:
        stop.set()
        await asyncio.wait_for(task, 40)
        await nc.close()


async def _reconnected(nc, count: int) -> bool:
    return bool(nc.is_connected and nc.stats["reconnects"] > count)


async def test_a_durable_gains_the_subjects_its_service_now_consumes(js) -> None:
    """An upgrade: the updater's durable, made when it consumed IndexSynced alone, is brought up
    to date at start and then gets machines-only retries too."""
    await ensure_consumer(js, "upgraded", [subjects.INDEX_SYNCED])
    updater_subjects = [events.IndexSynced.subject, events.MachinesRetryRequested.subject]
    await ensure_consumer(js, "upgraded", updater_subjects)
    info = await js.consumer_info(subjects.STREAM, "upgraded")
    assert set(info.config.filter_subjects or []) == set(updater_subjects)
