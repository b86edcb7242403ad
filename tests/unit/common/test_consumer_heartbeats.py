"""The consumer loop's leases, on a sleep the test controls: while a handler runs, every message
fetched and not yet settled gets `in_progress()` each heartbeat; once settled, none; and the
defaults keep four heartbeats inside the (short) ack wait."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from showcase_common import events, subjects
from showcase_common.bus import Consumer, ConsumerOptions, Delivery
from showcase_common.bus.consumer import ACK_WAIT_S


def _created(request_id: str) -> events.ShowcaseCreated:
    showcase = events.ShowcaseRef(
        showcase_id=1, year=2026, location_key="boston", key="spring", name="Spring"
    )
    ref = events.RequestRef(
        request_id=request_id, user="studio", showcase=showcase, redirect_url="http://x/"
    )
    return events.ShowcaseCreated(request=ref)


@dataclass
class FakeMsg:
    """What the loop uses of a NATS message; records how it was settled."""

    event: events.Event
    seq: int
    log: list[str] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return self.event.subject

    @property
    def data(self) -> bytes:
        return events.encode(self.event)

    @property
    def metadata(self) -> Any:
        return SimpleNamespace(num_delivered=1, sequence=SimpleNamespace(stream=self.seq))

    async def in_progress(self) -> None:
        self.log.append("in_progress")

    async def ack_sync(self) -> None:
        self.log.append("ack")


class Beats:
    """A heartbeat sleep that returns only when the test says a heartbeat is due."""

    def __init__(self) -> None:
        self.due = asyncio.Queue[None]()
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self.due.get()


async def _settle_loop() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_every_unsettled_message_gets_a_heartbeat_while_the_handler_runs() -> None:
    beats = Beats()
    release = asyncio.Event()
    handled: list[str] = []

    async def handler(delivery: Delivery) -> None:
        handled.append(delivery.request_id or "")
        if delivery.request_id == "slow":
            await release.wait()

    consumer = Consumer(
        js=None,  # type: ignore[arg-type]  # process() settles through the messages only
        stream=subjects.STREAM,
        durable="t",
        filter_subjects=[subjects.SHOWCASE_CREATED],
        handler=handler,
        options=ConsumerOptions(sleep=beats),
    )
    slow, queued = FakeMsg(_created("slow"), 1), FakeMsg(_created("queued"), 2)
    processing = asyncio.create_task(consumer.process([slow, queued]))  # type: ignore[list-item]
    await _settle_loop()
    assert handled == ["slow"] and slow.log == [] and queued.log == []

    for beat in range(1, 4):  # the handler outlasts any number of ack waits
        beats.due.put_nowait(None)
        await _settle_loop()
        assert slow.log == ["in_progress"] * beat
        assert queued.log == ["in_progress"] * beat  # waiting its turn, it keeps its lease too
    assert beats.asked[0] == consumer.options.heartbeat_s

    release.set()
    await asyncio.wait_for(processing, 5)
    assert slow.log[-1] == "ack" and queued.log[-1] == "ack"
    assert handled == ["slow", "queued"]
    beats.due.put_nowait(None)  # a heartbeat due after settling sends nothing
    await _settle_loop()
    assert slow.log.count("in_progress") == 3 and slow.log[-1] == "ack"


def test_the_default_lease_is_short_with_four_heartbeats_in_it() -> None:
    options = ConsumerOptions()
    assert options.ack_wait_s == ACK_WAIT_S <= 3.0
    assert options.heartbeat_s * 4 <= options.ack_wait_s
