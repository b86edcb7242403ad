"""Admin alerts (`build` with `FakeAlerterPorts`, events handed to its consumer's table); the fleet
file and agents' status over MockTransport."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from nats.aio.msg import Msg
from showcase_common import events, subjects
from showcase_common.bus import ConsumerSpec, Delivery, PermanentError, RetryableError
from showcase_common.fleet_status import FleetFileError, Machine, load_fleet, machine_statuses
from showcasectl.bootstrap import build
from showcasectl.config import AlerterSettings

from tests.support.fakes import FakeAlertLedger as FakeLedger
from tests.support.fakes import FakeMailer
from tests.support.ports import FakeAlerterPorts


def alerts_of(mailer: FakeMailer, ledger: FakeLedger, *, max_age_s: float) -> ConsumerSpec:
    settings = AlerterSettings(_env_file=None, alerts_max_age_s=max_age_s)
    consumers = build(settings, FakeAlerterPorts(mailer=mailer, ledger=ledger)).consumers
    [alerts] = [c for c in consumers if c.durable == subjects.ADMIN_ALERTS_DURABLE]
    return alerts


def _ref(request_id: str) -> events.RequestRef:
    showcase = events.ShowcaseRef(showcase_id=1, year=2026, location_key="b", key="k", name="N")
    return events.RequestRef(request_id=request_id, user="u", showcase=showcase, redirect_url="/")


def _delivery(event: events.Event) -> Delivery:
    return Delivery(event, Msg(_client=None))  # type: ignore[arg-type]


async def test_alerts_once_per_request() -> None:
    mailer, ledger = FakeMailer(), FakeLedger()
    alerts = alerts_of(mailer, ledger, max_age_s=60)
    failure = events.IndexSyncFailed(requests=[_ref("a"), _ref("b")], error="s3 down")
    await alerts.handle(_delivery(failure))
    await alerts.handle(_delivery(failure))  # a redelivery
    assert len(mailer.sent) == 2 and ledger.ids == {"a", "b"}
    assert "s3 down" in mailer.sent[0][1]
    # the Message-ID is derived from the request (the sender's domain): a resend after a crash
    # between the send and the ledger is the same mail
    assert mailer.message_ids == ["<showcase-alert.a@localhost>", "<showcase-alert.b@localhost>"]
    assert mailer.recipients == [None, None]  # the mailer's own recipient: ADMIN_EMAIL


async def test_a_canary_halt_is_mailed_once_for_all_its_requests() -> None:
    mailer, ledger = FakeMailer(), FakeLedger()
    alerts = alerts_of(mailer, ledger, max_age_s=60)
    failure = events.MachineFailure(
        machine_id="m1", region="iad", reason="command_failed", error="prerender exited 1"
    )
    halted = events.FleetUpdateFailed(
        generation=7,
        requests=[_ref("a"), _ref("b")],
        failures=[failure],
        halted_by_canary=True,
        untouched=["m2", "m3"],
    )
    await alerts.handle(_delivery(halted))
    await alerts.handle(_delivery(halted))  # a redelivery
    assert len(mailer.sent) == 1
    subject, body = mailer.sent[0]
    assert "canary" in subject and "generation 7" in subject
    assert "prerender exited 1" in body and "m2, m3 still serve the previous generation" in body
    assert {"a", "b"} <= ledger.ids  # neither request is mailed again on its own


async def test_alerts_skip_old_failures_and_retry_when_smtp_fails() -> None:
    ledger = FakeLedger()
    old = events.IndexSyncFailed(
        requests=[_ref("a")], error="x", occurred_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    await alerts_of(FakeMailer(), ledger, max_age_s=60).handle(_delivery(old))
    assert ledger.ids == set()
    fresh = events.IndexSyncFailed(requests=[_ref("a")], error="x")
    with pytest.raises(RetryableError):
        await alerts_of(FakeMailer(up=False), ledger, max_age_s=60).handle(_delivery(fresh))
    assert ledger.ids == set()  # not recorded: the redelivery will mail it


async def test_a_mail_the_server_refuses_for_good_is_dead_lettered_not_retried() -> None:
    ledger = FakeLedger()
    fresh = events.IndexSyncFailed(requests=[_ref("a")], error="x")
    with pytest.raises(PermanentError):
        await alerts_of(FakeMailer(refuse=True), ledger, max_age_s=60).handle(_delivery(fresh))
    assert ledger.ids == set()


def test_load_fleet(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("machines:\n  - {id: m1, region: ord, url: 'http://a/'}\n")
    assert load_fleet(path) == [Machine("m1", "ord", "http://a")]
    path.write_text("machines: [{region: ord}]\n")
    with pytest.raises(FleetFileError):
        load_fleet(path)


async def test_machine_statuses_report_generation_or_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "down":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"machine_id": "m1", "generation": 7})

    machines = [Machine("m1", "ord", "http://up"), Machine("m2", "iad", "http://down")]
    up, down = await machine_statuses(machines, transport=httpx.MockTransport(answer))
    assert (up.generation, up.error) == (7, None)
    assert down.generation is None and "ConnectError" in (down.error or "")
