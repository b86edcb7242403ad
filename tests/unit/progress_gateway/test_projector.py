"""The projector through the composition root (`build` with `FakeGatewayPorts`, events handed
to its consumer's handler table): events → request progress."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from progress_gateway import wording
from progress_gateway.bootstrap import build
from progress_gateway.config import GatewaySettings
from prometheus_client import REGISTRY
from showcase_common import events
from showcase_common.bus import ConsumerSpec

from tests.support.fakes import FakeProgressStore
from tests.support.ports import FakeGatewayPorts
from tests.unit.progress_gateway.helpers import at, delivery, fleet_failed, happy_path, ref

INTAKE = "http://intake.example"


@pytest.fixture
def store() -> FakeProgressStore:
    return FakeProgressStore()


@pytest.fixture
def projector(store: FakeProgressStore) -> ConsumerSpec:
    return projector_of(
        GatewaySettings(
            public_intake_url=INTAKE, public_fleet_url="http://fleet", showcase_dev_mode=True
        ),
        store,
    )


def projector_of(settings: GatewaySettings, store: FakeProgressStore) -> ConsumerSpec:
    """The projector's consumer of the gateway `build` makes over the fake store."""
    [consumer] = build(settings, FakeGatewayPorts(store=store)).consumers
    return consumer


async def _feed(projector: ConsumerSpec, evts: list[events.Event], first_seq: int = 1) -> None:
    for seq, event in enumerate(evts, start=first_seq):
        await projector.handle_batch([delivery(event, seq)])


async def test_happy_path_moves_through_each_step_to_100(projector, store) -> None:
    await _feed(projector, happy_path([ref()]))
    steps = [(p.status, p.progress, p.step) for p in store.history]
    assert steps == [
        ("processing", 10, "syncing"),
        ("processing", 30, "updating"),
        ("processing", 51, "updating"),
        ("processing", 73, "updating"),
        ("processing", 95, "updating"),
        ("completed", 100, "done"),
    ]
    assert store.history[3].message == "Live in 2 of 3 regions (ams)…"
    final = store.state("r1")
    assert final.message == "Your showcase is live"
    assert final.redirect_url == "http://fleet/showcase/2026/boston/spring/"
    assert final.user == "studio"
    assert final.public()["error"] is None and "user" not in final.public()


async def test_time_left_is_estimated_from_the_first_message_and_refined(projector, store) -> None:
    await _feed(projector, happy_path([ref()], machines=4)[:4])  # created, synced, 2 machines
    # nothing learned yet: the defaults, a usual sync (1 s) and roll-out (2 s)
    assert [h.eta_seconds for h in store.history[:2]] == [3.0, 2.0]
    # machine 1 ran 3s→5s, machine 2 finished at 7s: slower than usual, so the pace decides:
    # 4s for 2 machines, 2 to go → 4s left
    assert store.state("r1").eta_seconds == 4.0


async def test_time_left_learns_from_recent_roll_outs(projector, store) -> None:
    await _feed(projector, happy_path([ref("r1")], machines=3))  # sync 1 s, roll-out 6 s
    durations = projector.handles_batches[
        events.ShowcaseCreated
    ].__self__.durations  # Projector.handle_batch
    assert (durations.sync_s, durations.rollout_s) == (1.0, 6.0)
    nxt = happy_path([ref("r2")], machines=3)
    await _feed(projector, nxt[:2], first_seq=10)
    assert [h.eta_seconds for h in store.history if h.request_id == "r2"] == [7.0, 6.0]
    # machine 1 at 2 s into a usual 6 s roll-out: about 4 s left, not "almost done"
    await _feed(projector, nxt[2:3], first_seq=12)
    assert store.state("r2").eta_seconds == 4.0
    await _feed(projector, nxt[3:], first_seq=13)
    assert store.state("r2").eta_seconds is None  # completed


async def test_one_event_updates_every_request_it_covers(projector, store) -> None:
    refs = [ref("r1"), ref("r2", user="other")]
    await _feed(projector, happy_path(refs))
    for rid, user in (("r1", "studio"), ("r2", "other")):
        assert store.state(rid).status == "completed"
        assert store.state(rid).user == user


async def test_redelivered_or_late_events_never_move_progress_back(projector, store) -> None:
    evts = happy_path([ref()])
    await _feed(projector, evts[:4])  # up to machine 2 of 3
    before = store.state("r1")
    await projector.handle_batch([delivery(evts[2], 3)])  # machine 1 redelivered (same sequence)
    await projector.handle_batch([delivery(evts[0], 1)])  # created redelivered
    assert store.state("r1") == before


async def test_machines_finishing_out_of_order_keep_progress_monotonic(projector, store) -> None:
    evts = happy_path([ref()])
    created, synced, m1, m2, m3, fleet = evts
    await _feed(projector, [created, synced, m3, m1, m2, fleet])
    progress = [p.progress for p in store.history]
    assert progress == sorted(progress) and progress[-1] == 100


async def test_when_no_machine_could_be_updated_the_error_says_so(projector, store) -> None:
    failure = fleet_failed([ref()])
    second = failure.failures[0].model_copy(update={"machine_id": "m3"})
    failure = failure.model_copy(update={"updated": [], "failures": [*failure.failures, second]})
    await _feed(projector, [*happy_path([ref()])[:4], failure])
    error = store.state("r1").error or ""
    assert error.startswith("No region could be updated: iad (m2), iad (m3). Press Retry")
    assert "already serve" not in error


async def test_fleet_failure_names_the_machines_and_gives_a_retry_url(projector, store) -> None:
    evts = happy_path([ref()])[:4]
    await _feed(projector, [*evts, fleet_failed([ref()])])
    state = store.state("r1")
    assert (state.status, state.step, state.progress) == ("failed", "failed", 73)
    assert state.error == (
        "1 of 3 regions could not be updated: iad (m2). It is already live in the others. "
        "Press Retry to try again: only the regions that failed are updated."
    )
    assert state.retry_url == f"{INTAKE}/api/requests/r1/retry"
    assert (state.failed_step, state.failed_machines) == ("machines", ["m2"])


async def test_sync_failure_names_the_sync_step(projector, store) -> None:
    failed = events.IndexSyncFailed(
        requests=[ref()], reason="storage_unavailable", error="EndpointConnectionError"
    )
    await _feed(projector, [happy_path([ref()])[0], failed])
    state = store.state("r1")
    assert (state.status, state.failed_step, state.progress) == ("failed", "sync", 10)
    assert state.error == wording.SYNC_FAILURES["storage_unavailable"]  # the words for the code


DETAIL = (
    'Traceback (most recent call last):\n  File "/srv/app/syncer/storage.py", line 12\n'
    "botocore.exceptions.EndpointConnectionError: Could not connect to http://10.0.0.7:9000/"
)


async def test_a_studio_never_reads_exception_text_or_paths(projector, store) -> None:
    """The detail stays in the event (and the service's log); the studio gets fixed text."""
    sync_failed = events.IndexSyncFailed(requests=[ref()], error=DETAIL)
    await _feed(projector, [happy_path([ref()])[0], sync_failed])
    assert store.state("r1").error == wording.SYNC_FAILED
    retrying = events.IndexSyncRetrying(
        requests=[ref("r2")], attempt=2, max_attempts=5, message=DETAIL, error=DETAIL
    )
    await _feed(projector, [retrying], first_seq=3)
    assert (
        store.state("r2").message
        == "Still publishing: our storage did not answer, trying again (2 of 5)…"
    )
    fleet = fleet_failed([ref("r3")])
    fleet = fleet.model_copy(
        update={"failures": [f.model_copy(update={"error": DETAIL}) for f in fleet.failures]}
    )
    machine = events.MachineUpdateFailed(
        generation=1,
        requests=[ref("r3")],
        machine_id="m2",
        region="iad",
        done=1,
        total=3,
        error=DETAIL,
    )
    await _feed(projector, [machine, fleet], first_seq=4)
    for request_id in ("r1", "r2", "r3"):
        public = json.dumps(store.state(request_id).public())
        for leak in ("Traceback", "/srv/app", "botocore", "10.0.0.7", "line 12"):
            assert leak not in public, (request_id, leak)


@pytest.mark.parametrize(
    "redirect",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "https://evil.example/showcase/",
        "http://fleet.evil.example/",
        "http://evil.example\\@fleet/",
        "//evil.example/",
    ],
)
async def test_a_redirect_off_the_public_origins_is_never_sent(projector, store, redirect) -> None:
    bad = ref().model_copy(update={"redirect_url": redirect})
    await _feed(projector, happy_path([bad]))
    final = store.state("r1")
    assert final.status == "completed" and final.redirect_url is None


@pytest.mark.parametrize(
    "retry",
    [
        events.MachinesRetryRequested(request=ref(), machine_ids=["m2"], occurred_at=at(20)),
        # as intake wrote a machines retry before MachinesRetryRequested existed
        events.RetryRequested(
            request=ref(), from_step="machines", machine_ids=["m2"], occurred_at=at(20)
        ),
    ],
    ids=["machines-retry", "old-retry-requested"],
)
async def test_retry_resumes_without_lowering_progress_then_completes(
    projector, store, retry
) -> None:
    evts = happy_path([ref()])
    await _feed(projector, [*evts[:4], fleet_failed([ref()])])
    await _feed(projector, [retry, evts[-1]], first_seq=10)
    resumed, done = store.history[-2:]
    assert (resumed.status, resumed.step, resumed.progress) == ("processing", "updating", 73)
    assert resumed.error is None and resumed.retry_url is None and resumed.failed_machines == []
    assert (done.status, done.progress) == ("completed", 100)


async def test_completed_is_terminal(projector, store) -> None:
    await _feed(projector, [*happy_path([ref()]), fleet_failed([ref()])])
    assert store.state("r1").status == "completed"


async def test_a_concurrent_write_is_never_lost(projector, store) -> None:
    """Another replica writes between our read and our write: we re-read and apply on top."""
    created, synced = happy_path([ref()])[:2]
    await _feed(projector, [created])

    def other_replica_applies_synced(request_id: str) -> None:
        current = store.state(request_id)
        store.put(current.model_copy(update={"progress": 30, "step": "updating", "seq": 2}))

    store.before_write = other_replica_applies_synced
    m1 = happy_path([ref()])[2]
    await projector.handle_batch([delivery(m1, 3)])
    state = store.state("r1")
    assert (state.progress, state.seq, state.message) == (51, 3, "Live in 1 of 3 regions (iad)…")
    del synced


def _projections(outcome: str) -> float:
    return REGISTRY.get_sample_value("gateway_projections_total", {"outcome": outcome}) or 0.0


async def test_projections_are_counted_by_outcome(projector, store) -> None:
    outcomes = ("written", "skipped", "conflict")
    before = {o: _projections(o) for o in outcomes}
    created, synced = happy_path([ref()])[:2]
    for _ in range(2):  # the second is a redelivery: skipped
        await projector.handle_batch([delivery(created, 1)])
    store.before_write = lambda rid: store.put(store.state(rid).model_copy(update={"seq": 1}))
    await projector.handle_batch([delivery(synced, 2)])  # loses one round to "another replica"
    assert {o: _projections(o) - before[o] for o in outcomes} == {
        "written": 2,
        "skipped": 1,
        "conflict": 1,
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=25), st.booleans())
async def test_any_delivery_order_keeps_the_contract(order: list[int], fail: bool) -> None:
    """Whatever the order and repetition of deliveries: monotonic, and 100 iff completed."""
    store = FakeProgressStore()
    projector = projector_of(
        GatewaySettings(public_fleet_url="http://fleet", showcase_dev_mode=True), store
    )
    evts = happy_path([ref()])
    if fail:
        evts[-1] = fleet_failed([ref()])
    for i in order:
        await projector.handle_batch([delivery(evts[i], i + 1)])
    progress = [p.progress for p in store.history]
    assert progress == sorted(progress)
    for state in store.history:
        assert (state.progress == 100) == (state.status == "completed")


async def test_storage_retries_are_shown_to_the_studio_while_the_request_keeps_processing(
    projector, store
) -> None:
    retrying = events.IndexSyncRetrying(
        requests=[ref()], attempt=2, max_attempts=5, message="S3 unavailable, retrying (2 of 5)…"
    )
    await _feed(projector, [happy_path([ref()])[0], retrying, happy_path([ref()])[1]])
    shown = [(p.status, p.progress, p.message) for p in store.history]
    assert shown[1] == (
        "processing",
        10,
        "Still publishing: our storage did not answer, trying again (2 of 5)…",
    )
    assert shown[2][:2] == ("processing", 30)


# --- what the studio reads, per reason code -----------------------------------------------


@pytest.mark.parametrize("reason", sorted(wording.SYNC_FAILURES))
async def test_each_sync_failure_code_has_its_studio_text(projector, store, reason) -> None:
    failed = events.IndexSyncFailed(requests=[ref()], reason=reason, error=DETAIL)
    await _feed(projector, [happy_path([ref()])[0], failed])
    state = store.state("r1")
    assert state.error == wording.SYNC_FAILURES[reason]
    assert state.message == "Your showcase could not be published."
    assert "could not publish" not in (state.error or "").lower()  # not the message again


MACHINE_TEXTS = {
    "machine_unreachable": "iad (m2, could not be reached)",
    "machine_refused": "iad (m2, refused the update)",
    "command_failed": "iad (m2, its update commands failed)",
    "storage_unavailable": "iad (m2, could not download the update)",
    "timeout": "iad (m2, did not finish in time)",
    "not_serving": "iad (m2, does not show the showcase yet)",
    "unknown": "iad (m2)",
}


@pytest.mark.parametrize("reason", sorted(MACHINE_TEXTS))
async def test_each_machine_failure_code_has_its_studio_text(projector, store, reason) -> None:
    machine = events.MachineUpdateFailed(
        generation=1, requests=[ref()], machine_id="m2", region="iad",
        done=1, total=3, reason=reason, error=DETAIL,
    )  # fmt: skip
    fleet = fleet_failed([ref()])
    fleet = fleet.model_copy(
        update={"failures": [f.model_copy(update={"reason": reason}) for f in fleet.failures]}
    )
    await _feed(projector, [*happy_path([ref()])[:2], machine])
    cause = MACHINE_TEXTS[reason].removeprefix("iad (m2").removesuffix(")").removeprefix(", ")
    why = f" ({cause})" if cause else ""
    expected = f"iad could not be updated yet{why}; live in 1 of 3 regions…"
    assert store.state("r1").message == expected
    await _feed(projector, [fleet], first_seq=10)
    assert f"could not be updated: {MACHINE_TEXTS[reason]}. " in (store.state("r1").error or "")


# As the syncer and the updater encoded failures before the reason codes: the stream keeps such
# events for 30 days.
OLD_SYNC_FAILED = (
    b'{"version":1,"event_id":"0ld","occurred_at":"2025-01-02T03:04:05Z","requests":[{'
    b'"request_id":"r1","user":"studio","showcase":{"showcase_id":1,"year":2026,'
    b'"location_key":"boston","key":"k","name":"N","page":null},"redirect_url":"http://fleet/"}],'
    b'"error":"We could not publish the updated index (storage unavailable). Nothing is lost: '
    b'press Retry in a few minutes."}'
)
OLD_FLEET_FAILED = (
    b'{"version":1,"event_id":"0ldf","occurred_at":"2025-01-02T03:04:05Z","generation":3,'
    b'"requests":[{"request_id":"r2","user":"studio","showcase":{"showcase_id":1,"year":2026,'
    b'"location_key":"boston","key":"k","name":"N","page":null},"redirect_url":"http://fleet/"}],'
    b'"failures":[{"machine_id":"m2","region":"iad","error":"could not be reached (POST '
    b'/showcase/update_config: ConnectError: [Errno 111])"}],"updated":["m1"]}'
)
OLD_SYNC_RETRYING = (
    b'{"version":1,"event_id":"0ldr","occurred_at":"2025-01-02T03:04:05Z","requests":[{'
    b'"request_id":"r3","user":"studio","showcase":{"showcase_id":1,"year":2026,'
    b'"location_key":"boston","key":"k","name":"N","page":null},"redirect_url":"http://fleet/"}],'
    b'"attempt":2,"max_attempts":5,"message":"S3 unavailable, retrying (2 of 5)\\u2026"}'
)


async def test_old_failure_events_without_a_code_get_the_generic_text(projector, store) -> None:
    old_sync = events.decode(events.IndexSyncFailed.subject, OLD_SYNC_FAILED)
    old_fleet = events.decode(events.FleetUpdateFailed.subject, OLD_FLEET_FAILED)
    old_retrying = events.decode(events.IndexSyncRetrying.subject, OLD_SYNC_RETRYING)
    assert isinstance(old_sync, events.IndexSyncFailed) and old_sync.reason == "unknown"
    await _feed(projector, [old_sync, old_fleet, old_retrying])
    assert store.state("r1").error == wording.SYNC_FAILED
    assert store.state("r2").error == (
        "1 of 2 regions could not be updated: iad (m2). It is already live in the others. "
        "Press Retry to try again: only the regions that failed are updated."
    )
    assert (
        store.state("r3").message
        == "Still publishing: our storage did not answer, trying again (2 of 5)…"
    )


async def test_a_paused_rollout_says_so_visibly_queued_then_completes_after_resume(
    projector, store
) -> None:
    evts = happy_path([ref()])
    created, synced = evts[:2]
    paused = events.RolloutPaused(
        generation=7, requests=[ref()], paused_by="ops", reason="a bad template", occurred_at=at(1)
    )
    resumed = events.RolloutResumed(generation=7, requests=[ref()], occurred_at=at(2))
    await _feed(projector, [created, synced, paused, resumed, *evts[2:]])
    held = store.history[2]
    assert (held.status, held.step, held.progress) == ("queued", "queued", 30)
    assert held.message == (
        "Updates are paused by the operators: your showcase is saved "
        "and will go live when they resume"
    )
    assert "ops" not in held.message and held.error is None  # who paused is for operators
    going = store.history[3]
    assert (going.status, going.step, going.progress) == ("processing", "updating", 30)
    assert going.message == wording.RESUMED
    assert store.state("r1").status == "completed"


async def test_the_canary_step_shows_and_a_halt_says_the_others_were_not_changed(
    projector, store
) -> None:
    created, synced = happy_path([ref()])[:2]
    canary = events.CanaryStarted(
        generation=7, requests=[ref()], machine_id="m1", region="iad", total=3, occurred_at=at(2)
    )
    failed = events.MachineUpdateFailed(
        generation=7,
        requests=[ref()],
        machine_id="m1",
        region="iad",
        done=1,
        total=3,
        reason="command_failed",
        error="prerender exited 1: /srv/app/bin/prerender",
        occurred_at=at(3),
    )
    halted = events.FleetUpdateFailed(
        generation=7,
        requests=[ref()],
        failures=[
            events.MachineFailure(
                machine_id="m1", region="iad", reason="command_failed", error="exit 1 /srv"
            )
        ],
        halted_by_canary=True,
        untouched=["m2", "m3"],
        occurred_at=at(4),
    )
    await _feed(projector, [created, synced, canary, failed, halted])
    trying = store.history[2]
    assert (trying.progress, trying.step) == (30, "updating")
    assert trying.message == "Trying the update on one machine first (iad)…"
    final = store.state("r1")
    assert final.status == "failed" and final.failed_step == "machines"
    assert final.failed_machines == ["m1", "m2", "m3"]  # a retry reaches them all
    assert final.error is not None and "tried on one machine first" in final.error
    assert "not changed" in final.error and "/srv" not in final.error


async def test_the_canary_updated_says_the_rest_follow(projector, store) -> None:
    created, synced = happy_path([ref()])[:2]
    canary_done = events.MachineUpdated(
        generation=7,
        requests=[ref()],
        machine_id="m1",
        region="iad",
        done=1,
        total=3,
        duration_s=1.0,
        canary=True,
        occurred_at=at(3),
    )
    await _feed(projector, [created, synced, canary_done])
    state = store.state("r1")
    assert state.progress == 51
    assert (
        state.message
        == "The first machine (iad) shows your showcase; updating the other 2 machines…"
    )


async def test_regions_are_named_as_the_index_names_them(projector, store) -> None:
    named = ref().model_copy(update={"regions": {"iad": "Ashburn, Virginia", "ams": "Amsterdam"}})
    evts = happy_path([named])
    await _feed(projector, evts[:4])
    assert store.state("r1").message == "Live in 2 of 3 regions (Amsterdam)…"
    assert [h.message for h in store.history[:2]] == [
        "Publishing your showcase…",
        "Publishing your showcase in every region…",
    ]


def _stuck(step: events.StuckStep, t: float, *, fails: bool = True) -> events.RequestStuck:
    return events.RequestStuck(
        requests=[ref()],
        step=step,
        last_progress_at=at(t - 301),
        stuck_after_s=300,
        fails=fails,
        occurred_at=at(t),
    )


async def test_a_stuck_request_is_failed_with_retry_from_the_step_it_stopped_at(
    projector, store
) -> None:
    created, synced = happy_path([ref()])[:2]
    await _feed(projector, [created, _stuck("syncing", 400)])
    state = store.state("r1")
    assert (state.status, state.step, state.progress) == ("failed", "failed", 10)
    assert state.message == "Publishing your showcase stopped moving."
    assert state.error == (
        "Publishing made no progress for 5 minutes, so it was stopped. Nothing is lost: your "
        "showcase is saved and the operators have been told. Press Retry to try again."
    )
    assert (state.failed_step, state.failed_machines) == ("sync", [])
    assert state.retry_url == f"{INTAKE}/api/requests/r1/retry"
    assert "stuck" not in state.public()

    other = FakeProgressStore()
    machines = projector_of(
        GatewaySettings(public_intake_url=INTAKE, showcase_dev_mode=True), other
    )
    await _feed(machines, [created, synced, _stuck("updating", 400)])
    # every machine behind is retried (an empty list: the updater skips those serving it)
    assert (other.state("r1").failed_step, other.state("r1").failed_machines) == ("machines", [])


async def test_an_alert_only_stuck_request_keeps_going_for_the_studio(projector, store) -> None:
    created, synced = happy_path([ref()])[:2]
    await _feed(projector, [created, synced, _stuck("updating", 400, fails=False)])
    assert (store.state("r1").status, store.state("r1").message) == ("processing", wording.SYNCED)


async def test_after_a_stuck_failure_only_the_real_outcome_or_a_retry_changes_it(
    projector, store
) -> None:
    evts = happy_path([ref()])
    created, synced, *machines, done = evts
    await _feed(projector, [created, _stuck("syncing", 400), synced, *machines])
    late = store.state("r1")  # late steps do not flicker it back to "processing"
    assert (late.status, late.message) == ("failed", wording.STUCK)
    await projector.handle_batch([delivery(done, 10)])  # the showcase went live after all
    final = store.state("r1")
    assert (final.status, final.progress, final.error, final.retry_url) == (
        "completed", 100, None, None,
    )  # fmt: skip

    retried = FakeProgressStore()
    again = projector_of(GatewaySettings(public_intake_url=INTAKE, showcase_dev_mode=True), retried)
    retry = events.RetryRequested(request=ref(), occurred_at=at(500))
    await _feed(again, [created, _stuck("syncing", 400), retry, synced])
    assert (retried.state("r1").status, retried.state("r1").step) == ("processing", "updating")

    failed = FakeProgressStore()
    real = projector_of(GatewaySettings(public_intake_url=INTAKE, showcase_dev_mode=True), failed)
    sync_failed = events.IndexSyncFailed(
        requests=[ref()], reason="storage_unavailable", error="s3", occurred_at=at(450)
    )
    await _feed(real, [created, _stuck("syncing", 400), sync_failed])
    assert failed.state("r1").message == wording.FAILED  # the real failure's own words
    assert failed.state("r1").error == wording.sync_failed("storage_unavailable")


async def test_one_fetch_of_a_requests_events_is_one_write_ending_where_each_in_turn_would(
    store,
) -> None:
    """A projector behind (every machine finishing at once) catches up in one write."""
    settings = GatewaySettings(
        public_intake_url=INTAKE, public_fleet_url="http://fleet", showcase_dev_mode=True
    )
    evts = happy_path([ref()], machines=8)
    one_by_one = FakeProgressStore()
    await _feed(projector_of(settings, one_by_one), evts)

    batched = projector_of(settings, store)
    await batched.handle_batch([delivery(e, seq) for seq, e in enumerate(evts[:2], start=1)])
    await batched.handle_batch([delivery(e, seq) for seq, e in enumerate(evts[2:], start=3)])
    assert len(store.history) == 2  # created + synced, then 8 machines + the verdict
    final, expected = store.state("r1"), one_by_one.state("r1")
    assert final.public() == expected.public()
    assert (final.seq, final.status, final.progress) == (len(evts), "completed", 100)


async def test_a_fetch_covering_two_requests_writes_each_once(projector, store) -> None:
    refs = [ref("r1"), ref("r2")]
    await projector.handle_batch([delivery(e, s) for s, e in enumerate(happy_path(refs), 1)])
    assert sorted(p.request_id for p in store.history) == ["r1", "r2"]
    assert {store.state(r).status for r in ("r1", "r2")} == {"completed"}


async def test_a_redelivered_fetch_changes_nothing_and_a_conflict_re_applies_the_fold(
    projector, store
) -> None:
    evts = happy_path([ref()])
    batch = [delivery(e, seq) for seq, e in enumerate(evts[:4], start=1)]
    await projector.handle_batch(batch)
    written = len(store.history)
    await projector.handle_batch(batch)  # the loop's nak or a lost ack: the same fetch again
    assert len(store.history) == written

    def other_replica_applies_machine_2(request_id: str) -> None:
        current = store.state(request_id)
        store.put(current.model_copy(update={"progress": 73, "seq": 5}))

    store.before_write = other_replica_applies_machine_2
    await projector.handle_batch([delivery(e, seq) for seq, e in enumerate(evts[4:], start=5)])
    state = store.state("r1")
    assert (state.status, state.progress, state.seq) == ("completed", 100, len(evts))


async def test_a_requests_next_event_is_applied_on_what_was_written_without_a_read(
    projector, store
) -> None:
    await _feed(projector, happy_path([ref()]))
    assert store.reads == 1  # the first event found nothing; each later one its own write
    assert store.state("r1").status == "completed"


async def test_what_another_writer_stored_meanwhile_is_read_and_kept(projector, store) -> None:
    evts = happy_path([ref()])
    await _feed(projector, evts[:3])
    current = store.state("r1")
    store.put(current.model_copy(update={"user": "someone-else-wrote", "seq": 3}))
    await projector.handle_batch([delivery(evts[3], 4)])
    state = store.state("r1")
    assert (state.seq, state.user, state.progress) == (4, "someone-else-wrote", 73)
