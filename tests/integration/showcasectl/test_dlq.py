"""A poison event lands in the DLQ after its deliveries; `dlq retry` after the fix completes it."""

from __future__ import annotations

import asyncio

import pytest
from showcase_common import events, subjects
from showcase_common.bus import Backoff, Consumer, ConsumerOptions, Delivery

from tests.integration.showcasectl.conftest import Ctl, publish_all, request_ref


class FlakyHandler:
    """Fails every delivery until `fixed`; records what it completed."""

    def __init__(self) -> None:
        self.fixed = False
        self.attempts = 0
        self.completed: list[str] = []
        self.changed = asyncio.Event()

    async def __call__(self, delivery: Delivery) -> None:
        self.attempts += 1
        self.changed.set()
        if not self.fixed:
            raise RuntimeError("the index database is locked")
        self.completed.append(delivery.request_id or "")


async def _until(condition, event: asyncio.Event, timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            event.clear()
            await event.wait()


async def test_poison_event_is_dead_lettered_then_retried_after_the_fix(js, ctl: Ctl) -> None:
    handler = FlakyHandler()
    options = ConsumerOptions(
        max_deliver=2, backoff=Backoff(base_s=0.05, cap_s=0.05), fetch_timeout_s=0.2
    )
    consumer = Consumer(
        js,
        subjects.STREAM,
        "t-syncer",
        [subjects.SHOWCASE_CREATED],
        handler=handler,
        options=options,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        await publish_all(js, [events.ShowcaseCreated(request=request_ref("poison"))])
        await _until(lambda: handler.attempts >= 2, handler.changed)

        listed = await ctl.json("dlq", "list", exit_code=1)  # not empty: a problem
        assert len(listed) == 1
        letter = listed[0]
        assert letter["consumer"] == "t-syncer"
        assert letter["original_subject"] == subjects.SHOWCASE_CREATED
        assert letter["original_seq"] == 1 and letter["attempts"] == 2
        assert "the index database is locked" in letter["error"]

        shown = await ctl.json("dlq", "show", str(letter["id"]))
        assert shown["payload"]["request"]["request_id"] == "poison"
        table = await ctl("dlq", "list")
        assert "the index database is locked" in table.stdout

        handler.fixed = True
        retried = await ctl.json("dlq", "retry", str(letter["id"]))
        assert retried["action"] == "retried" and retried["new_seq"] == 2
        await _until(lambda: handler.completed == ["poison"], handler.changed)
        assert await ctl.json("dlq", "list") == []
        assert (await ctl("dlq", "show", str(letter["id"]))).exit_code == 1
    finally:
        stop.set()
        await running


async def test_drop_deletes_a_dead_letter(js, ctl: Ctl) -> None:
    from showcase_common.bus.dead_letters import ERROR, ORIGINAL_SUBJECT

    await js.publish(
        "showcase_dlq.t",
        b"{not json",
        headers={ORIGINAL_SUBJECT: subjects.SHOWCASE_CREATED, ERROR: "undecodable"},
    )
    assert (await ctl("dlq", "drop", "1")).exit_code == 1  # asks, and no answer aborts
    dropped = await ctl.json("dlq", "drop", "1", "--yes", "--as", "dave", "--reason", "old junk")
    assert dropped["action"] == "dropped" and dropped["error"] == "undecodable"
    assert await ctl.json("dlq", "list") == []
    assert (await ctl("dlq", "drop", "1", "--yes")).exit_code == 1  # gone
    (action,) = await ctl.json("audit")  # the refused second drop left no trace
    assert (action["action"], action["actor"], action["reason"]) == ("dlq_drop", "dave", "old junk")
    assert action["details"]["dlq_id"] == 1


@pytest.mark.parametrize(
    "subject",
    ["$JS.API.STREAM.DELETE.SHOWCASE", "showcase.nope", "billing.invoice.created", ""],
)
async def test_retry_publishes_only_to_the_pipelines_own_subjects(js, ctl: Ctl, subject) -> None:
    """A dead letter's headers are data: one naming another subject is refused and kept."""
    from showcase_common.bus.dead_letters import ERROR, ORIGINAL_SUBJECT

    await publish_all(js, [events.ShowcaseCreated(request=request_ref("kept"))])
    headers = {ERROR: "undecodable"} | ({ORIGINAL_SUBJECT: subject} if subject else {})
    await js.publish("showcase_dlq.t", b"{}", headers=headers)

    refused = await ctl("dlq", "retry", "1", "--json")
    assert refused.exit_code == 1
    assert "refused" in refused.stderr and "left in the DLQ" in refused.stderr
    assert len(await ctl.json("dlq", "list", exit_code=1)) == 1  # still there
    info = await js.stream_info(subjects.STREAM)  # the stream is intact, nothing published
    assert (info.config.name, info.state.messages) == (subjects.STREAM, 1)
