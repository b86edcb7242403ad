"""`showcasectl replay`: one request re-driven from its step; ranges re-published harmlessly."""

from __future__ import annotations

from nats.js.api import StreamConfig
from showcase_common import events, subjects
from showcase_common.bus import ensure_kv
from showcase_common.progress import RequestProgress

from tests.integration.showcasectl.conftest import Ctl, poll, publish_all, request_ref, story


async def _stream_count(js) -> int:
    return (await js.stream_info(subjects.STREAM)).state.messages


async def test_replay_request_publishes_retry_from_the_failed_step(js, ctl: Ctl) -> None:
    await publish_all(js, story("req-a", 1)[:2])
    kv = await ensure_kv(js, subjects.REQUEST_STATE_BUCKET)
    failed = RequestProgress(
        request_id="req-a", status="failed", progress=62, step="failed",
        failed_step="machines", failed_machines=["m2"], error="m2 down",
    )  # fmt: skip
    await kv.put("req-a", failed.model_dump_json().encode())

    dry = await ctl.json("replay", "req-a", "--dry-run")
    assert dry["action"] == "would publish" and await _stream_count(js) == 2

    done = await ctl.json("replay", "req-a")
    assert done == {
        "request_id": "req-a", "from_step": "machines", "machine_ids": ["m2"],
        "status": "failed", "action": "published", "reason": "MachinesRetryRequested", "seq": 3,
    }  # fmt: skip
    retry = (await ctl.json("events", "--from-seq", "3"))[0]  # to the updater, not the syncer
    assert retry["type"] == "MachinesRetryRequested" and retry["summary"] == "retry the machines m2"
    assert retry["subject"] == subjects.MACHINES_RETRY_REQUESTED

    forced = await ctl.json("replay", "req-a", "--from-step", "sync", "--as", "carol")
    assert forced["from_step"] == "sync" and forced["machine_ids"] == []
    trail = await ctl.json("audit")  # the dry run left no trace; each replay one
    assert [(a["action"], a["details"]["from_step"]) for a in trail] == [
        ("replay", "machines"),
        ("replay", "sync"),
    ]
    assert trail[1]["actor"] == "carol" and trail[0]["details"]["request_id"] == "req-a"


async def test_replay_request_refuses_unknown_and_skips_completed(js, ctl: Ctl) -> None:
    assert (await ctl("replay", "nope")).exit_code == 1
    await publish_all(js, story("req-a", 1))
    kv = await ensure_kv(js, subjects.REQUEST_STATE_BUCKET)
    done = RequestProgress(request_id="req-a", status="completed", progress=100, step="done")
    await kv.put("req-a", done.model_dump_json().encode())
    result = await ctl.json("replay", "req-a")
    assert result["action"] == "nothing to do"
    assert await _stream_count(js) == 5


async def test_range_inside_the_window_is_deduplicated_twice(js, ctl: Ctl) -> None:
    day = story("req-a", 1) + story("req-b", 2)
    day.append(events.RolloutRequested(requested_by="ops"))
    day.append(events.RetryRequested(request=request_ref("req-a"), from_step="sync"))
    await publish_all(js, day)
    before = await _stream_count(js)

    dry = await ctl.json("replay", "--since", "1d", "--dry-run")
    assert dry["dry_run"] and dry["counts"]["deduplicated"] == 10
    assert dry["counts"]["skipped"] == 2  # the two intents are never re-published
    for _ in range(2):
        out = await ctl.json("replay", "--since", "1d")
        assert out["counts"] == {
            "skipped": 2,
            "deduplicated": 10,
            "re-delivered": 0,
            "published": 0,
        }
        assert all(m["duplicate"] for m in out["messages"] if m["action"] != "skip")
    assert await _stream_count(js) == before


async def test_range_outside_the_window_republishes_with_original_ids(js, ctl: Ctl) -> None:
    info = await js.stream_info(subjects.STREAM)
    await js.update_stream(
        StreamConfig.from_response({**info.config.as_dict(), "duplicate_window": 200_000_000})
    )
    await publish_all(js, story("req-a", 1))

    # Wait until the window (0.2 s) has passed for the stored events (no event to await here).
    async def aged() -> bool:
        dry = await ctl.json("replay", "--from-seq", "1", "--dry-run")
        return bool(dry["counts"]["re-delivered"] == 5)

    await poll(aged, "the events outside the window", 10)

    out = await ctl.json(
        "replay", "--from-seq", "1", "--to-seq", "2", "--subject", subjects.ALL_SUBJECTS
    )
    assert [m["action"] for m in out["messages"]] == ["re-delivered", "re-delivered"]
    assert "ledger" in out["messages"][0]["reason"] and "generation" in out["messages"][1]["reason"]
    assert out["counts"]["published"] == 2
    copies = await ctl.json("events", "--from-seq", "6")
    assert [c["type"] for c in copies] == ["ShowcaseCreated", "IndexSynced"]
    original = await js.get_msg(subjects.STREAM, 1)
    copy = await js.get_msg(subjects.STREAM, 6)
    assert copy.headers["Nats-Msg-Id"] == original.headers["Nats-Msg-Id"]


async def test_range_usage_errors(ctl: Ctl) -> None:
    for args in (["replay"], ["replay", "r", "--since", "1h"], ["replay", "--since", "1h", "--from-seq", "1"],
                 ["replay", "r", "--from-step", "everything"]):  # fmt: skip
        assert (await ctl(*args)).exit_code == 2, args
