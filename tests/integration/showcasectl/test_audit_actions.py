"""`apply` and `dlq retry` are operator actions: each lands in the audit trail with who did it
and why, as `showcasectl audit --json` lists it (issue 19, item 4), against a real nats-server."""

from __future__ import annotations

import getpass

from showcase_common import events, subjects
from showcase_common.bus.dead_letters import CONSUMER, ERROR, ORIGINAL_SEQ, ORIGINAL_SUBJECT

from tests.integration.showcasectl.conftest import Ctl, request_ref


async def test_apply_is_audited_with_its_actor_and_reason(js, ctl: Ctl) -> None:
    asked = await ctl.json("apply", "--no-wait", "--as", "erin", "--reason", "admin showcases")
    assert asked["outcome"] == "running"

    (action,) = await ctl.json("audit")
    assert (action["action"], action["actor"], action["reason"], action["via"]) == (
        "apply",
        "erin",
        "admin showcases",
        "showcasectl",
    )
    # what it acted on: the RolloutRequested it published, which names the same operator
    rollout = await js.get_msg(subjects.STREAM, action["details"]["request_seq"])
    assert rollout.subject == subjects.ROLLOUT_REQUESTED
    assert events.decode(rollout.subject, rollout.data).requested_by == "erin"  # type: ignore[attr-defined]


async def test_apply_without_as_names_the_os_user(js, ctl: Ctl) -> None:
    await ctl.json("apply", "--no-wait")
    (action,) = await ctl.json("audit")
    assert action["action"] == "apply" and action["actor"] == getpass.getuser()


async def test_dlq_retry_is_audited_with_its_actor_and_reason(js, ctl: Ctl) -> None:
    created = events.ShowcaseCreated(request=request_ref("poisoned"))
    await js.publish(
        f"{subjects.DEAD_LETTER_SUBJECT_PREFIX}.syncer",
        events.encode(created),
        headers={
            ORIGINAL_SUBJECT: created.subject,
            ORIGINAL_SEQ: "7",
            CONSUMER: "syncer",
            ERROR: "the index database is locked",
        },
    )
    (letter,) = await ctl.json("dlq", "list", exit_code=1)

    retried = await ctl.json(
        "dlq", "retry", str(letter["id"]), "--as", "frank", "--reason", "lock released"
    )
    assert retried["action"] == "retried"

    (action,) = await ctl.json("audit")
    assert (action["action"], action["actor"], action["reason"]) == (
        "dlq_retry",
        "frank",
        "lock released",
    )
    assert action["details"] == {
        "dlq_id": letter["id"],
        "subject": subjects.SHOWCASE_CREATED,
        "new_seq": retried["new_seq"],
    }
    republished = await js.get_msg(subjects.STREAM, retried["new_seq"])
    assert events.decode(republished.subject, republished.data) == created


async def test_a_refused_dlq_retry_records_nothing(js, ctl: Ctl) -> None:
    await js.publish(
        f"{subjects.DEAD_LETTER_SUBJECT_PREFIX}.t",
        b"{}",
        headers={ORIGINAL_SUBJECT: "billing.invoice.created", ERROR: "undecodable"},
    )
    refused = await ctl("dlq", "retry", "1", "--as", "frank")
    assert refused.exit_code == 1
    assert await ctl.json("audit") == []
