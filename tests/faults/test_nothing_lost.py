"""Nothing accepted is ever lost: not on a broker restart, not on a crash mid-step, not on an S3
or machine outage. Each test breaks one process of the shared local stack the way production
would (SIGKILL, SIGSTOP, a stop), then watches as a studio would: the status URL, the pages.

The safety-net deadlines are generous on purpose: the syncer and the updater hold an unacked
message for their ack wait (10 s) after a crash, and only then does JetStream redeliver it.
"""

from __future__ import annotations

import httpx
import pytest

from tests.faults.studio import (
    State,
    Watch,
    assert_completed,
    assert_served_everywhere,
    generations,
    submit,
    times_listed,
)
from tests.support.stack import STUDIO, LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _assert_delivered(stack: LocalStack, watch: Watch, final: State) -> None:
    """Completed, on every machine, listed once, and the bar never went backwards."""
    assert_completed(final, watch.created)
    assert_served_everywhere(stack, watch.created)
    assert times_listed(stack, watch.created) == 1
    watch.assert_progress_never_decreased()


def _assert_fleet_moved_together(before: dict[str, int], after: dict[str, int]) -> None:
    assert len(set(after.values())) == 1, f"the fleet is split: {after}"
    assert all(after[a] > before[a] for a in after), f"before {before}, after {after}"


def test_an_updater_killed_mid_rollout_is_finished_by_its_successor(stack: LocalStack) -> None:
    before = generations(stack)
    with stack.frozen("local-3"):  # the roll-out hangs on this machine
        watch = Watch(submit(stack, "updater"))
        watch.until(
            lambda s: s["step"] == "updating" and s["message"].startswith("Live in 2 of 3 regions"),
            "the roll-out stuck on the third machine",
        )
        stack.kill_process("machine-updater")  # SIGKILL: no ack, no last word
        stack.start_process("machine-updater")
    # The dead updater's IndexSynced comes back to its successor once the ack wait runs out.
    final = watch.final(timeout_s=120)

    _assert_delivered(stack, watch, final)
    _assert_fleet_moved_together(before, generations(stack))


def test_requests_taken_while_nats_is_down_complete_when_it_is_back(stack: LocalStack) -> None:
    with stack.stopped("nats"):
        watches = [Watch(submit(stack, "broker-a")), Watch(submit(stack, "broker-b"))]
        for watch in watches:  # intake holds them in its outbox meanwhile
            state = watch.poll()
            assert (state["status"], state["step"], state["progress"]) == ("queued", "queued", 0)

    for watch in watches:
        _assert_delivered(stack, watch, watch.final())


def test_a_short_s3_outage_during_a_sync_loses_nothing(stack: LocalStack) -> None:
    with stack.stopped("s3"):
        watch = Watch(submit(stack, "s3-short"))
        # The syncer met the outage and says so; S3 comes back while it is still retrying.
        # Any attempt will do: a state lasts from one attempt to the next, and polling can miss
        # the shortest (the 2nd comes ~0.8 s after the 1st), more so on a loaded box.
        retrying = watch.until(lambda s: "trying again (" in s["message"], "S3 retries")
        assert (retrying["status"], retrying["step"]) == ("processing", "syncing"), retrying
    final = watch.final()

    if final["status"] == "failed":  # S3 took longer to restart than the syncer's budget
        _retry(final)
        _assert_delivered(stack, watch, watch.final())
        pytest.skip("S3 restarted after the syncer's retry budget; delivered through Retry")
    _assert_delivered(stack, watch, final)


def test_an_s3_outage_past_the_retry_budget_fails_and_retry_delivers(stack: LocalStack) -> None:
    with stack.stopped("s3"):
        watch = Watch(submit(stack, "s3-long"))
        failed = watch.final()  # the syncer's budget (5 attempts) runs out while S3 is down
    assert (failed["status"], failed["step"]) == ("failed", "failed"), failed
    assert failed["error"] and failed["retry_url"], failed
    assert failed["progress"] < 100, failed

    _retry(failed)
    final = watch.final()

    assert final["error"] is None and final["retry_url"] is None, final
    _assert_delivered(stack, watch, final)


def test_a_syncer_killed_mid_sync_is_finished_by_its_successor(stack: LocalStack) -> None:
    before = generations(stack)
    watch = Watch(submit(stack, "syncer"))
    # ShowcaseCreated is on the bus (the gateway has projected it): the syncer holds it, or is
    # about to; kill it with no chance to ack or clean up.
    watch.until(lambda s: s["step"] != "queued", "the request on the bus")
    stack.kill_process("syncer")
    stack.start_process("syncer")
    final = watch.final(timeout_s=120)

    _assert_delivered(stack, watch, final)
    _assert_fleet_moved_together(before, generations(stack))


def _retry(failed: State) -> None:
    response = httpx.post(failed["retry_url"], auth=STUDIO, timeout=30)
    assert response.status_code == 202, response.text
