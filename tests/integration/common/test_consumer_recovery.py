"""Leases against a real nats-server, with the loop's default (short) ack wait: a slow but live
handler keeps its message while another replica pulls on the same durable; a consumer SIGKILLed
mid-step has its message redelivered to the other replica, the first time its ack wait runs out."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from showcase_common import subjects
from showcase_common.bus import ConsumerOptions, Delivery, Publisher, connect, ensure_stream

from tests.integration.common.test_consumer_loop import _created, _on_created


@pytest.fixture
async def js(nats_url: str):
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    await ensure_stream(js)
    yield js
    await nc.close()


FAST_FETCH = ConsumerOptions(fetch_timeout_s=0.2)


async def _replica(nats_url: str, durable: str, handler) -> tuple[asyncio.Task[None], object]:
    """Another replica of the consumer: its own connection, the same durable."""
    nc = await connect(nats_url, f"replica-{durable}")
    consumer = _on_created(nc.jetstream(), durable, handler=handler, options=FAST_FETCH)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    task.add_done_callback(lambda _: None)

    async def close() -> None:
        stop.set()
        await asyncio.wait_for(task, 10)
        await nc.close()

    return task, close


async def test_a_slow_live_handler_keeps_its_message_while_another_replica_pulls(
    js, nats_url: str
) -> None:
    durable = "t-slow-replicas"
    ack_wait = FAST_FETCH.ack_wait_s
    started, other = asyncio.Event(), []
    done = asyncio.Event()

    async def slow(delivery: Delivery) -> None:
        started.set()
        # three ack waits long: only its heartbeats keep the message from the other replica
        await asyncio.sleep(3 * ack_wait)
        done.set()

    async def elsewhere(delivery: Delivery) -> None:
        other.append(delivery.attempt)

    first = _on_created(js, durable, handler=slow, options=FAST_FETCH)
    await first.declare()
    stop = asyncio.Event()
    task = asyncio.create_task(first.run(stop))
    await Publisher(js).publish(_created("slow-one"))
    await asyncio.wait_for(started.wait(), 20)
    _, close_other = await _replica(nats_url, durable, elsewhere)
    try:
        await asyncio.wait_for(done.wait(), 30)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await close_other()  # type: ignore[operator]
    assert other == []  # never handed to the other replica
    info = await js.consumer_info(subjects.STREAM, durable)
    assert info.num_redelivered == 0 and info.num_ack_pending == 0


HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from showcase_common import subjects
    from showcase_common.bus import Consumer, ConsumerOptions, connect

    async def main(url, durable):
        nc = await connect(url, "doomed")
        async def hold(delivery):
            print("holding", delivery.attempt, flush=True)
            await asyncio.Event().wait()  # mid-step, until killed
        consumer = Consumer(nc.jetstream(), subjects.STREAM, durable,
                            [subjects.SHOWCASE_CREATED], handler=hold,
                            options=ConsumerOptions(fetch_timeout_s=0.2))
        await consumer.run(asyncio.Event())

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def _start_holder(nats_url: str, durable: str) -> subprocess.Popen[str]:
    """A consumer process whose handler never returns (killed mid-step)."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, nats_url, durable],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


async def test_a_sigkilled_consumers_message_goes_to_the_other_replica(js, nats_url: str) -> None:
    durable = "t-killed"
    await _on_created(js, durable, handler=lambda d: asyncio.sleep(0), options=FAST_FETCH).declare()
    holder = _start_holder(nats_url, durable)
    try:
        await Publisher(js).publish(_created("doomed"))
        line = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), 60)  # type: ignore[union-attr]
        assert line.split() == ["holding", "1"]
        redelivered: asyncio.Queue[tuple[int, float]] = asyncio.Queue()

        async def survivor(delivery: Delivery) -> None:
            redelivered.put_nowait((delivery.attempt, time.monotonic()))

        _, close_survivor = await _replica(nats_url, durable, survivor)
        killed = time.monotonic()
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(10)
        try:
            attempt, at = await asyncio.wait_for(redelivered.get(), 30)
        finally:
            await close_survivor()  # type: ignore[operator]
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait(10)
    assert attempt == 2  # the same message, its second delivery
    print(f"kill → redelivered to the other replica: {at - killed:.2f} s "
          f"(ack wait {FAST_FETCH.ack_wait_s} s)")  # fmt: skip
    info = await js.consumer_info(subjects.STREAM, durable)
    assert info.num_ack_pending == 0
