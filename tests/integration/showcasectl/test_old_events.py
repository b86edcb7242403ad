"""Events written before issue 13 (the stream keeps 30 days of them) through `showcasectl
events` and `replay`: every one decodes and reads as what it meant."""

from __future__ import annotations

from showcase_common import subjects
from showcase_common.bus.publisher import MSG_ID_HEADER
from showcase_common.events import decode

from tests.integration.showcasectl.conftest import Ctl
from tests.support.old_events import old_failed_request


async def test_old_events_are_listed_and_replayed_as_they_meant(js, ctl: Ctl) -> None:
    old = old_failed_request("req-old")
    for subject, payload in old:
        msg_id = decode(subject, payload).event_id
        await js.publish(subject, payload, headers={MSG_ID_HEADER: msg_id})

    rows = (await ctl.json("events", "--request", "req-old"))["events"]
    assert [r["type"] for r in rows] == [
        "ShowcaseCreated",
        "IndexSyncRetrying",
        "IndexSynced",
        "MachineUpdateFailed",
        "FleetUpdateFailed",
        "RetryRequested",
        "IndexSynced",
        "IndexSyncFailed",
    ]
    summaries = [r["summary"] for r in rows]
    assert summaries[5] == "retry from machines on m2"
    assert summaries[6] == "generation 3 for m2"
    assert summaries[3].startswith("m2 1/2 failed (unknown): could not be reached")
    assert summaries[7].startswith("sync failed (unknown): We could not publish")

    replay = await ctl.json("replay", "--since", "30d", "--dry-run")
    reasons = {m["seq"]: m["reason"] for m in replay["messages"]}
    assert not any("undecodable" in why for why in reasons.values())
    skipped = [m for m in replay["messages"] if m["action"] == "skip"]
    assert [m["subject"] for m in skipped] == [subjects.RETRY_REQUESTED]  # an intent
