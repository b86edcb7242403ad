"""The stuck watch: which requests are stuck at a time t (pure: `observe` folds events,
`stuck_at` decides, a pause or a pin hold excluded), then the watch as `build` makes it with
`FakeAlerterPorts` (its consumer's table, its check), and the admins' one e-mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pytest
from nats.aio.msg import Msg
from showcase_common import events, subjects
from showcase_common.bus import ConsumerSpec, Delivery
from showcase_common.fleet_control import PauseState, PinHold
from showcasectl.bootstrap import build, stuck_watch
from showcasectl.config import AlerterSettings
from showcasectl.stuck import FORGET, Hold, StuckWatch, Watched, observe, stuck_at

from tests.support.ports import FakeAlerterPorts
from tests.unit.progress_gateway.helpers import at, delivery, happy_path, ref

AFTER_S = 60.0
RUNNING = Hold(held=False)
SNAPSHOT = events.Snapshot(generation=7, object_key="db/7", sha256="0" * 64, size=1)


def fold(evts: Iterable[events.Event]) -> dict[str, Watched]:
    """Events in stream order → the watch's entries (what the bucket holds)."""
    watched: dict[str, Watched] = {}
    for seq, event in enumerate(evts, start=1):
        for r in events.request_refs(event):
            nxt = observe(watched.get(r.request_id), event, r, seq)
            if nxt == FORGET:
                del watched[r.request_id]
            elif isinstance(nxt, Watched):
                watched[r.request_id] = nxt
    return watched


def stuck_ids(evts: Iterable[events.Event], t: float, hold: Hold = RUNNING) -> list[str]:
    return [w.request.request_id for w in stuck_at(fold(evts).values(), at(t), AFTER_S, hold)]


def synced(*refs: events.RequestRef, t: float) -> events.IndexSynced:
    return events.IndexSynced(snapshot=SNAPSHOT, requests=list(refs), occurred_at=at(t))


def created(r: events.RequestRef, t: float) -> events.ShowcaseCreated:
    return events.ShowcaseCreated(request=r, occurred_at=at(t))


def stuck_event(
    r: events.RequestRef, t: float | None = None, *, fails: bool = True
) -> events.RequestStuck:
    """Announced at `t`, or now (the alerts mail only what is recent)."""
    when = at(t) if t is not None else dt.datetime.now(dt.UTC)
    return events.RequestStuck(
        requests=[r],
        step="updating",
        last_progress_at=when - dt.timedelta(seconds=AFTER_S + 1),
        stuck_after_s=AFTER_S,
        fails=fails,
        occurred_at=when,
    )


# --- the decision (pure) -----------------------------------------------------------------------


def test_a_request_without_progress_for_longer_than_the_threshold_is_stuck() -> None:
    evts = [created(ref("a"), 0), synced(ref("a"), t=5)]
    assert stuck_ids(evts, t=65) == []  # exactly 60 s since its last step: not yet
    assert stuck_ids(evts, t=65.5) == ["a"]
    assert fold(evts)["a"].step == "updating"
    assert stuck_ids(evts[:1], t=61) == ["a"] and fold(evts[:1])["a"].step == "syncing"


def test_each_step_restarts_the_clock_and_a_finished_request_is_forgotten() -> None:
    moving = happy_path([ref("a")])[:-1]  # every step but the verdict, the last at 7 s
    assert stuck_ids(moving, t=66) == []
    assert stuck_ids(moving, t=68) == ["a"]
    assert fold(happy_path([ref("a")])) == {}  # completed
    for verdict in (
        events.IndexSyncFailed(requests=[ref("a")], error="s3", occurred_at=at(2)),
        events.FleetUpdateFailed(generation=7, requests=[ref("a")], failures=[], occurred_at=at(9)),
    ):
        assert fold([created(ref("a"), 0), verdict]) == {}


def test_one_event_moves_every_request_it_covers_and_only_those() -> None:
    evts: list[events.Event] = [created(ref("a"), 0), created(ref("b"), 0), created(ref("c"), 50)]
    evts.append(synced(ref("a"), ref("c"), t=55))
    assert stuck_ids(evts, t=100) == ["b"]
    assert stuck_ids(evts, t=200) == ["b", "a", "c"]  # longest without progress first


def test_a_paused_or_pinned_fleet_is_not_stuck_and_each_clock_restarts_when_lifted() -> None:
    evts = [
        created(ref("a"), 0),
        synced(ref("a"), t=5),
        events.RolloutPaused(generation=7, requests=[ref("a")], paused_by="ops", occurred_at=at(6)),
        created(ref("b"), 10),  # syncing while paused: waiting too
    ]
    assert fold(evts)["a"].step == "queued"
    assert stuck_ids(evts, t=10_000, hold=Hold(held=True)) == []
    lifted = Hold(held=False, lifted_at=at(1_000))
    assert stuck_ids(evts, t=1_059, hold=lifted) == []  # 59 s after the resume
    assert set(stuck_ids(evts, t=1_061, hold=lifted)) == {"a", "b"}
    # a request that moved after the hold ended counts from its own step
    later = [*evts, synced(ref("b"), t=1_030)]
    assert stuck_ids(later, t=1_061, hold=lifted) == ["a"]


def test_a_stuck_request_is_announced_once_per_stretch_and_a_retry_rearms_it() -> None:
    evts: list[events.Event] = [created(ref("a"), 0), stuck_event(ref("a"), t=61)]
    assert fold(evts)["a"].reported and stuck_ids(evts, t=1_000) == []
    late = [*evts, synced(ref("a"), t=70)]  # a late step after it was announced
    assert fold(late)["a"].reported and stuck_ids(late, t=1_000) == []
    retried = [*late, events.RetryRequested(request=ref("a"), occurred_at=at(100))]
    assert not fold(retried)["a"].reported
    assert stuck_ids(retried, t=159) == [] and stuck_ids(retried, t=161) == ["a"]
    assert fold([*late, events.FleetUpdated(
        generation=7, requests=[ref("a")], machine_ids=[], duration_s=1, occurred_at=at(90)
    )]) == {}  # fmt: skip


def test_a_redelivered_or_older_event_changes_nothing() -> None:
    entry = observe(None, created(ref("a"), 0), ref("a"), 5)
    assert isinstance(entry, Watched)
    assert observe(entry, synced(ref("a"), t=9), ref("a"), 5) is None
    assert observe(entry, synced(ref("a"), t=9), ref("a"), 4) is None
    assert observe(None, stuck_event(ref("a"), t=61), ref("a"), 6) is None  # not watched


# --- the watch through the composition root ----------------------------------------------------


@pytest.fixture
def ports() -> FakeAlerterPorts:
    return FakeAlerterPorts()


def watch_of(ports: FakeAlerterPorts, now: dt.datetime, **env: object) -> StuckWatch:
    """The watch `build` makes, its clock stopped at `now`."""
    settings = AlerterSettings(_env_file=None, stuck_after_s=AFTER_S, **env)  # type: ignore[arg-type]
    ports.clock = lambda: now
    return stuck_watch(settings, ports)


def consumer(ports: FakeAlerterPorts, durable: str) -> ConsumerSpec:
    settings = AlerterSettings(_env_file=None, stuck_after_s=AFTER_S)
    [spec] = [c for c in build(settings, ports).consumers if c.durable == durable]
    return spec


async def test_build_runs_the_watch_beside_the_alerts_on_every_step_event(ports) -> None:
    service = build(AlerterSettings(_env_file=None), ports)
    assert [c.durable for c in service.consumers] == [
        subjects.ADMIN_ALERTS_DURABLE,
        subjects.STUCK_WATCH_DURABLE,
    ]
    assert events.RequestStuck in service.consumers[0].table
    assert events.MachineUpdated in service.consumers[1].table
    assert len(service.on_nats) == 1  # the timer


async def test_the_check_announces_a_stuck_request_once_by_policy(ports) -> None:
    watch = watch_of(ports, at(200))
    for seq, event in enumerate([created(ref("a"), 0), synced(ref("a"), t=5)], start=1):
        await watch.handle(delivery(event, seq))
    check = await watch.check()
    assert check.announced == ("a",) and not check.held
    [(announced, msg_id)] = ports.publisher.published
    assert isinstance(announced, events.RequestStuck)
    assert (announced.step, announced.fails, announced.last_progress_at) == (
        "updating",
        True,
        at(5),
    )
    assert msg_id == "stuck:a:2"
    await watch.check()  # before the watch read its own announcement: the same id, one event
    assert len(ports.publisher.published) == 1
    await watch.handle(delivery(announced, 3))
    assert (await watch.check()).announced == ()

    other = FakeAlerterPorts()
    alert_only = watch_of(other, at(200), stuck_policy="alert")
    await alert_only.handle(delivery(created(ref("b"), 0), 1))
    await alert_only.check()
    assert [e.fails for e in other.publisher.of(events.RequestStuck)] == [False]


async def test_nothing_is_decided_while_paused_pinned_behind_or_away(ports) -> None:
    watch = watch_of(ports, at(500))
    await watch.handle(delivery(created(ref("a"), 0), 1))
    ports.control.state = PauseState(paused_by="ops", reason="bad template")
    assert (await watch.check()).held and not ports.publisher.published
    ports.control.state = None
    ports.control.pin = PinHold(generation=6, pinned_by="ops")
    assert (await watch.check()).held and not ports.publisher.published
    await ports.control.release_pin()  # lifted just now: the clock restarts
    ports.control.lifted = at(480)
    assert (await watch.check()).announced == ()
    ports.control.lifted = None
    ports.watch_book.pending = 3  # events not read yet: its own lag is not a stuck request
    assert (await watch.check()).skipped == "3 event(s) not read yet"
    ports.watch_book.pending = 0
    ports.control.broken = True
    assert "unavailable" in ((await watch.check()).skipped or "")
    assert not ports.publisher.published
    ports.control.broken = False
    assert (await watch.check()).announced == ("a",)


async def test_events_older_than_the_alerts_age_start_no_watch(ports) -> None:
    watch = watch_of(ports, at(10 * 24 * 3600))
    await watch.handle(delivery(created(ref("a"), 0), 1))
    assert ports.watch_book.values == {}


async def test_the_admins_get_one_mail_per_stuck_request(ports) -> None:
    alerts = consumer(ports, subjects.ADMIN_ALERTS_DURABLE)
    stuck = stuck_event(ref("a"))
    await alerts.handle(delivery(stuck, 1))
    await alerts.handle(delivery(stuck, 1))  # redelivered
    await alerts.handle(delivery(stuck.model_copy(update={"event_id": "replayed"}), 2))
    late_failure = events.FleetUpdateFailed(generation=7, requests=[ref("a")], failures=[])
    await alerts.handle(delivery(late_failure, 3))  # failed already, as stuck: told already
    [(subject, body)] = ports.mailer.sent
    assert subject == "Showcase request stuck: Spring (boston 2026)"
    assert "made no progress for 60 seconds while updating the machines" in body
    assert "It was failed (STUCK_POLICY=fail)" in body
    assert "showcasectl replay a" in body
    assert ports.ledger.ids == {"stuck-a", "a"}


async def test_an_alert_only_stuck_request_still_has_its_failure_mailed(ports) -> None:
    alerts = consumer(ports, subjects.ADMIN_ALERTS_DURABLE)
    await alerts.handle(delivery(stuck_event(ref("a"), fails=False), 1))
    await alerts.handle(delivery(events.IndexSyncFailed(requests=[ref("a")], error="s3"), 2))
    assert [s for s, _ in ports.mailer.sent] == [
        "Showcase request stuck: Spring (boston 2026)",
        "Showcase request failed: Spring (boston 2026)",
    ]
    assert "left running (STUCK_POLICY=alert)" in ports.mailer.sent[0][1]


def test_alerts_run_refuses_an_unknown_stuck_policy_before_starting() -> None:
    from showcasectl.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["alerts", "run", "--stuck-policy", "never"])
    assert result.exit_code == 2
    assert "must be fail or alert, not 'never'" in " ".join(result.output.split())


def test_events_says_what_a_stuck_announcement_did() -> None:
    from showcasectl.history import summary

    assert summary(stuck_event(ref("a"))) == (
        "stuck: no progress for 60 seconds while updating; failed"
    )
    assert summary(stuck_event(ref("a"), fails=False)).endswith("; alerted only")


def _stored(event: events.Event, seq: int, stored_at: dt.datetime) -> Delivery:
    """A delivery whose JetStream envelope says the event was stored at `stored_at`."""
    ns = int(stored_at.timestamp() * 1_000_000_000)
    reply = f"$JS.ACK.SHOWCASE.stuck-watch.1.{seq}.{seq}.{ns}.0"
    msg = Msg(_client=None, subject=event.subject, reply=reply, data=events.encode(event))  # type: ignore[arg-type]
    return Delivery(event, msg)


async def test_a_replayed_event_starts_no_watch_but_moves_a_watched_request(ports) -> None:
    """`replay --since` re-publishes old events: a range that ends before the requests' outcome
    must not leave them "stuck" on arrival (a false alarm)."""
    watch = watch_of(ports, at(10_000))
    await watch.handle(_stored(created(ref("old"), 0), 1, stored_at=at(9_000)))
    assert ports.watch_book.values == {}
    await watch.handle(_stored(created(ref("a"), 9_990), 2, stored_at=at(9_990.2)))
    await watch.handle(_stored(synced(ref("a"), t=9_995), 3, stored_at=at(9_999)))
    assert ports.watch_book.values["a"][0].last_progress_at == at(9_995)
    assert (await watch.check()).announced == ()
