"""The operator tool's pure parts: time parsing, timelines, roll-out tracking, replay verdicts."""

from __future__ import annotations

import datetime as dt

import pytest
from showcase_common import events, subjects
from showcasectl.apply import Rollout
from showcasectl.history import request_ids, timeline
from showcasectl.replay import classify
from showcasectl.stream_reader import StoredMsg
from showcasectl.timeparse import parse_since

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def _ref(request_id: str = "r1") -> events.RequestRef:
    showcase = events.ShowcaseRef(showcase_id=1, year=2026, location_key="b", key="k", name="N")
    return events.RequestRef(request_id=request_id, user="u", showcase=showcase, redirect_url="/")


def _snap(generation: int) -> events.Snapshot:
    return events.Snapshot(generation=generation, object_key="k", sha256="0" * 64, size=1)


def _stored(event: events.Event, seq: int, at: dt.datetime) -> StoredMsg:
    headers = {"Nats-Msg-Id": event.event_id}
    return StoredMsg(seq, event.subject, at, events.encode(event), headers)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW - dt.timedelta(minutes=30)),
        ("1d", NOW - dt.timedelta(days=1)),
        ("2026-11-29", dt.datetime(2026, 11, 29, tzinfo=dt.UTC)),
        ("2026-11-29T08:00:00Z", dt.datetime(2026, 11, 29, 8, tzinfo=dt.UTC)),
    ],
)
def test_parse_since(text: str, expected: dt.datetime) -> None:
    assert parse_since(text, NOW) == expected


def test_parse_since_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="neither a time"):
        parse_since("last tuesday", NOW)


def test_request_ids_from_request_or_requests() -> None:
    assert request_ids(events.ShowcaseCreated(request=_ref("a"))) == ["a"]
    synced = events.IndexSynced(snapshot=_snap(1), requests=[_ref("a"), _ref("b")])
    assert request_ids(synced) == ["a", "b"]
    assert request_ids(events.RolloutRequested(requested_by="ops")) == []


def test_timeline_times_each_step() -> None:
    created = _stored(events.ShowcaseCreated(request=_ref()), 1, NOW)
    synced = _stored(
        events.IndexSynced(snapshot=_snap(4), requests=[_ref()]), 2, NOW + dt.timedelta(seconds=2)
    )
    fleet = events.FleetUpdated(generation=4, requests=[_ref()], machine_ids=["m1"], duration_s=1)
    done = _stored(fleet, 3, NOW + dt.timedelta(seconds=5))
    rows = timeline([created, synced, done])
    assert [r.since_previous_s for r in rows] == [None, 2.0, 3.0]
    assert [r.since_first_s for r in rows] == [0.0, 2.0, 5.0]
    assert rows[1].summary == "generation 4"
    assert rows[2].summary == "generation 4 on 1 machines"


def test_rollout_follows_its_generation_to_the_verdict() -> None:
    rollout = Rollout(seq=7)
    assert rollout.progress == 10
    assert not rollout.feed(events.IndexSynced(snapshot=_snap(5), requests=[_ref()]))  # a request's
    assert rollout.generation is None
    assert not rollout.feed(events.IndexSynced(snapshot=_snap(6), requests=[]))
    assert rollout.generation == 6
    assert rollout.progress == 30
    old = events.MachineUpdated(
        generation=5, requests=[], machine_id="m1", region="r", done=1, total=2, duration_s=1
    )
    assert not rollout.feed(old) and rollout.done == 0  # the previous roll-out finishing
    mine = old.model_copy(update={"generation": 6})
    assert not rollout.feed(mine) and rollout.progress == 30 + 65 // 2
    fleet = events.FleetUpdated(generation=6, requests=[], machine_ids=["m1", "m2"], duration_s=2)
    assert rollout.feed(fleet)
    assert (rollout.outcome, rollout.progress) == ("completed", 100)


def test_rollout_fails_on_sync_failure() -> None:
    rollout = Rollout()
    assert rollout.feed(events.IndexSyncFailed(requests=[], error="s3 down"))
    assert rollout.outcome == "failed" and "s3 down" in rollout.message


def test_classify_range_messages() -> None:
    created = events.ShowcaseCreated(request=_ref())
    day = 86400.0
    recent = classify(_stored(created, 1, NOW - dt.timedelta(hours=1)), NOW, day)
    assert (recent.action, recent.msg_id) == ("deduplicated", created.event_id)
    old = classify(_stored(created, 1, NOW - dt.timedelta(days=2)), NOW, day)
    assert old.action == "re-delivered" and "ledger" in old.reason
    rollout = classify(_stored(events.RolloutRequested(requested_by="x"), 2, NOW), NOW, day)
    assert rollout.action == "skip"
    junk = classify(StoredMsg(3, subjects.SHOWCASE_CREATED, NOW, b"{"), NOW, day)
    assert junk.action == "skip" and "undecodable" in junk.reason


def test_a_range_replayed_moments_ago_is_deduplicated_again() -> None:
    """JetStream's window runs from the newest copy of a Nats-Msg-Id: a range re-published a
    moment ago is dropped again, however old its originals are."""
    created = events.ShowcaseCreated(request=_ref())
    original = _stored(created, 1, NOW - dt.timedelta(days=2))
    copied = classify(original, NOW, 0.5, last_stored=NOW - dt.timedelta(seconds=0.3))
    assert copied.action == "deduplicated" and "replayed copy" in copied.reason
    aged = classify(original, NOW, 0.5, last_stored=NOW - dt.timedelta(seconds=2))
    assert aged.action == "re-delivered"
