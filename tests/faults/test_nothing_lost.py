"""Nothing accepted is ever lost: not on a broker restart, not on a crash mid-step, not on an S3
or machine outage. Each test breaks one process of the shared local stack the way production
would (SIGKILL, SIGSTOP, a stop), then watches as a studio would: the status URL, the pages.

The safety-net deadlines are generous on purpose: two JetStream consumers (syncer, updater) hold
an unacked message for their ack wait (30 s) after a crash before it is redelivered.
"""

from __future__ import annotations

import httpx
import pytest

from tests.faults.studio import (
    assert_completed,
    assert_served_everywhere,
    frozen,
    generations,
    status,
    submit,
    times_listed,
    wait_final,
    wait_status,
)
from tests.support.stack import STUDIO, LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_an_updater_killed_mid_rollout_is_finished_by_its_successor(stack: LocalStack) -> None:
    before = generations(stack)
    with frozen(stack, "local-3"):  # the roll-out hangs on this machine
        created = submit(stack, "updater")
        wait_status(
            created,
            lambda s: s["step"] == "updating" and s["message"].startswith("Updated machine 2 of 3"),
            "the roll-out stuck on the third machine",
        )
        stack.kill_process("machine-updater")
        stack.start_process("machine-updater")
    # The dead updater's IndexSynced comes back to the new one once its ack wait runs out.
    final = wait_final(created, timeout_s=120)

    assert_completed(final, created)
    assert_served_everywhere(stack, created)
    after = generations(stack)
    assert len(set(after.values())) == 1, f"the fleet is split: {after}"
    assert all(after[a] > before[a] for a in after), f"before {before}, after {after}"
    assert times_listed(stack, created) == 1


def test_requests_taken_while_nats_is_down_complete_when_it_is_back(stack: LocalStack) -> None:
    with stack.stopped("nats"):
        first = submit(stack, "broker-a")  # intake keeps them in its outbox meanwhile
        second = submit(stack, "broker-b")
        for created in (first, second):
            state = status(created)
            assert (state["status"], state["step"], state["progress"]) == ("queued", "queued", 0)

    for created in (first, second):
        assert_completed(wait_final(created), created)
        assert_served_everywhere(stack, created)
        assert times_listed(stack, created) == 1


def test_a_sync_that_outlives_the_s3_outage_budget_fails_and_a_retry_completes_it(
    stack: LocalStack,
) -> None:
    with stack.stopped("s3"):
        created = submit(stack, "s3")
        failed = wait_final(created)  # the syncer's budget (5 attempts) runs out while S3 is down
    assert failed["status"] == "failed", failed
    assert failed["step"] == "failed", failed
    assert failed["error"], failed
    assert failed["progress"] < 100, failed
    assert failed["retry_url"], failed

    retried = httpx.post(failed["retry_url"], auth=STUDIO, timeout=30)
    assert retried.status_code == 202, retried.text
    final = wait_final(created)

    assert_completed(final, created)
    assert final["error"] is None and final["retry_url"] is None, final
    assert_served_everywhere(stack, created)
    assert times_listed(stack, created) == 1


def test_a_syncer_killed_mid_sync_is_finished_by_its_successor(stack: LocalStack) -> None:
    before = generations(stack)
    created = submit(stack, "syncer")
    # ShowcaseCreated is on the bus (the gateway has projected it): the syncer has it, or is
    # about to; kill it with no chance to ack or clean up.
    wait_status(created, lambda s: s["step"] != "queued", "the request on the bus")
    stack.kill_process("syncer")
    stack.start_process("syncer")
    final = wait_final(created, timeout_s=120)

    assert_completed(final, created)
    assert_served_everywhere(stack, created)
    after = generations(stack)
    assert len(set(after.values())) == 1, f"the fleet is split: {after}"
    assert all(after[a] > before[a] for a in after), f"before {before}, after {after}"
    assert times_listed(stack, created) == 1
