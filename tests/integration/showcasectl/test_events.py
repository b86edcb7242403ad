"""`showcasectl events`: a request's events in order and timed; the stream by time or sequence."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from showcase_common import events, subjects

from tests.integration.showcasectl.conftest import Ctl, publish_all, request_ref, story


async def test_request_events_in_order_with_step_durations(js, ctl: Ctl) -> None:
    await publish_all(js, story("req-a", 1))
    await publish_all(js, story("req-b", 2)[:2])  # another request, interleaved below
    await publish_all(js, [events.IndexSyncFailed(requests=[request_ref("req-a")], error="x")])

    out = await ctl.json("events", "--request", "req-a")

    types = [e["type"] for e in out["events"]]
    assert types == [
        "ShowcaseCreated",
        "IndexSynced",
        "MachineUpdated",
        "MachineUpdated",
        "FleetUpdated",
        "IndexSyncFailed",
    ]
    seqs = [e["seq"] for e in out["events"]]
    assert seqs == sorted(seqs) and 6 not in seqs and 7 not in seqs  # req-b's are not there
    assert out["events"][0]["since_previous_s"] is None
    assert all(e["since_previous_s"] >= 0 for e in out["events"][1:])
    assert out["total_s"] == out["events"][-1]["since_first_s"]
    assert out["events"][2]["summary"] == "m1 (ord) 1/2 in 0.5s"


async def test_request_table_and_unknown_request_exits_1(js, ctl: Ctl) -> None:
    await publish_all(js, story("req-a", 1))
    table = await ctl("events", "--request", "req-a")
    assert table.exit_code == 0
    assert "FleetUpdated" in table.stdout and "generation 1 on 2 machines" in table.stdout

    missing = await ctl("events", "--request", "nope")
    assert missing.exit_code == 1
    assert "no events name request nope" in missing.stderr


async def test_stream_from_seq_with_subject_filter(js, ctl: Ctl) -> None:
    await publish_all(js, story("req-a", 1) + story("req-b", 2))
    out = await ctl.json("events", "--from-seq", "3", "--subject", subjects.MACHINE_UPDATED)
    assert [(e["seq"], e["type"]) for e in out] == [
        (3, "MachineUpdated"),
        (4, "MachineUpdated"),
        (8, "MachineUpdated"),
        (9, "MachineUpdated"),
    ]
    since = await ctl.json("events", "--since", "1h")
    assert len(since) == 10
    assert await ctl.json("events", "--since", "2999-01-01") == []


async def test_usage_errors_exit_2(ctl: Ctl) -> None:
    for args in (
        ["events"],
        ["events", "--request", "r", "--since", "1h"],
        ["events", "--since", "yesterday-ish"],
        ["events", "--since", "1h", "--from-seq", "3"],
    ):
        result = await ctl(*args)
        assert result.exit_code == 2, (args, result.output)


async def test_unreachable_bus_exits_1() -> None:
    result = await Ctl({"NATS_URL": "nats://127.0.0.1:9"})("events", "--since", "1h")
    assert result.exit_code == 1
    assert "cannot reach NATS" in result.stderr


async def test_follow_prints_new_events_as_json_lines(js, nats_url: str) -> None:
    await publish_all(js, story("old", 1))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "showcasectl", "events", "--follow", "--json",
        env={**os.environ, "NATS_URL": nats_url},
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        # Published until the follower (which starts after the last event) has printed one.
        async def first_line() -> bytes:
            assert proc.stdout is not None
            return await proc.stdout.readline()

        reading = asyncio.create_task(first_line())
        while not reading.done():
            await publish_all(js, [events.ShowcaseCreated(request=request_ref("new"))])
            await asyncio.wait([reading], timeout=0.5)
        line = json.loads(reading.result())
        assert line["type"] == "ShowcaseCreated" and line["request_ids"] == ["new"]
        assert line["seq"] > 5  # the old story is not printed
    finally:
        proc.terminate()
        await proc.wait()
