"""The stuck watch of `showcasectl alerts run` on real parts: a real nats-server, intake taking a
studio's request over its JSON API, the progress gateway projecting it, the alerter built by its
own composition root, and a real SMTP server. No syncer runs (a stopped one): the request makes
no progress. The threshold is small (`STUCK_AFTER_S` 1 s) and every wait awaits an event (the
watch's checks, a message on the bus, a KV update).

- the request is failed with the studio's words, in `GET /api/requests/{id}`, and the admins
  get exactly one e-mail: a restart of the alerter, a replay of the announcement, and the same
  request stuck again after the studio's Retry send none;
- while roll-outs are paused nothing is failed, however long; after `resume` the clock starts
  again from the resume.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack.ports import free_port
from devstack.smtp_sink import messages, sink
from fastapi import FastAPI
from intake.bootstrap import ports as intake_ports
from intake.seed import seed
from nats.aio.client import Client
from nats.js.client import JetStreamContext
from nats.js.errors import NoKeysError
from progress_gateway.config import GatewaySettings, ProjectorConsumerSettings
from progress_gateway.wording import STUCK
from showcase_common import events, runner, subjects
from showcase_common.bus import Publisher, connect
from showcase_common.fleet_control import KvFleetControl, PauseState
from showcasectl.bootstrap import build, ports
from showcasectl.config import AlerterSettings, AlertsConsumerSettings
from showcasectl.stuck import Check, StuckWatch

from tests.integration.intake.conftest import real_settings
from tests.integration.progress_gateway.conftest import SECRET, Gateway, wait_for_state
from tests.integration.showcasectl.conftest import poll
from tests.unit.intake.conftest import STUDIO, in_process

AFTER_S = 1.0


class Alerter:
    """`showcasectl alerts run` in this event loop: `build(settings, ports(settings))` served by
    the runner until stopped."""

    def __init__(self, settings: AlerterSettings) -> None:
        self.settings = settings
        self.ports = ports(settings)
        self.service = build(settings, self.ports)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            runner.serve(settings, self.service, self._stop, link=self.ports.nats)
        )

    @property
    def watch(self) -> StuckWatch:
        watch = getattr(self.service.on_nats[0], "__self__", None)
        assert isinstance(watch, StuckWatch)
        return watch

    async def until_check(self, done: Callable[[Check], bool], timeout_s: float = 30.0) -> Check:
        """The first check of the watch (from now on, or the last one) that satisfies `done`."""
        watch = self.watch
        async with asyncio.timeout(timeout_s), watch.checked:
            await watch.checked.wait_for(
                lambda: watch.last_check is not None and done(watch.last_check)
            )
        assert watch.last_check is not None
        return watch.last_check

    async def stop(self) -> None:
        """Stopped as SIGTERM stops it (idempotent)."""
        self._stop.set()
        await asyncio.wait_for(self._task, 15)


@pytest.fixture
def mail_dir(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    port = free_port()
    smtp = sink(tmp_path / "mail", port)
    smtp.start()
    try:
        yield tmp_path / "mail", port
    finally:
        smtp.stop()


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[tuple[Client, JetStreamContext]]:
    nc = await connect(nats_url, "test")
    yield nc, nc.jetstream()
    await nc.close()


@pytest.fixture
async def intake(tmp_path: Path, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Intake as `python -m intake` builds it (its outbox relay publishing to NATS)."""
    settings = real_settings(tmp_path, nats_url)
    seed(settings.index_db_path)
    app: FastAPI = in_process(settings, intake_ports(settings), background=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
            yield client


@pytest.fixture
async def gateway(nats_url: str) -> AsyncIterator[Gateway]:
    settings = GatewaySettings(
        nats_url=nats_url,
        progress_token_secret=SECRET,
        public_intake_url="http://intake.test",
        public_fleet_url="http://fleet.test",
        consumer=ProjectorConsumerSettings(fetch_timeout_s=0.2),
    )
    started = Gateway(settings)
    await started.start(live=False)
    yield started
    await started.stop()


@pytest.fixture
async def alerters(
    nats_url: str, mail_dir: tuple[Path, int]
) -> AsyncIterator[Callable[[], Alerter]]:
    running: list[Alerter] = []

    def start() -> Alerter:
        settings = AlerterSettings(
            _env_file=None,
            nats_url=nats_url,
            smtp_port=mail_dir[1],
            admin_email="admins@studio.test",
            stuck_after_s=AFTER_S,
            stuck_check_interval_s=0.1,
            consumer=AlertsConsumerSettings(fetch_timeout_s=0.2),
        )
        running.append(Alerter(settings))
        return running[-1]

    yield start
    for alerter in running:
        await alerter.stop()


async def _submit(intake: httpx.AsyncClient, name: str) -> str:
    response = await intake.post(
        "/api/showcases", json={"name": name, "location_id": 1}, auth=STUDIO
    )
    assert response.status_code == 201, response.text
    request_id: str = response.json()["request_id"]
    return request_id


async def _status(intake: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    response = await intake.get(f"/api/requests/{request_id}", auth=STUDIO)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def _next_stuck(sub: Any) -> events.RequestStuck:
    msg = await sub.next_msg(timeout=30)
    event = events.decode(msg.subject, msg.data)
    assert isinstance(event, events.RequestStuck)
    return event


async def _settled(js: JetStreamContext, durable: str) -> bool:
    info = await js.consumer_info(subjects.STREAM, durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_a_request_without_progress_is_failed_and_mailed_once(
    bus, intake, gateway, alerters, mail_dir
) -> None:
    nc, js = bus
    announced = await nc.subscribe(subjects.REQUEST_STUCK)
    alerter = alerters()
    request_id = await _submit(intake, "Stuck Spring")

    stuck = await _next_stuck(announced)
    assert [r.request_id for r in stuck.requests] == [request_id]
    assert (stuck.step, stuck.fails, stuck.stuck_after_s) == ("syncing", True, AFTER_S)
    waited = (stuck.occurred_at - stuck.last_progress_at).total_seconds()
    assert waited > AFTER_S

    await wait_for_state(js, request_id, lambda s: s["status"] == "failed")
    state = await _status(intake, request_id)
    assert (state["status"], state["step"], state["message"]) == ("failed", "failed", STUCK)
    assert state["error"].startswith("Publishing made no progress for 1 second, so it was stopped")
    assert state["failed_step"] == "sync"
    assert state["retry_url"] == f"http://intake.test/api/requests/{request_id}/retry"

    kv = await js.key_value(subjects.ADMIN_ALERTS_BUCKET)
    await poll(lambda: _has_key(kv, f"stuck-{request_id}"), "the stuck request mailed")
    [mail] = messages(mail_dir[0])
    assert mail["Subject"].startswith("Showcase request stuck: Stuck Spring (boston ")
    assert mail["To"] == "admins@studio.test"
    assert f"showcasectl replay {request_id}" in mail.get_payload()

    # The alerter restarts: its durables and the watch's bucket remember; no second e-mail.
    await alerter.stop()
    restarted = alerters()
    after = dt.datetime.now(dt.UTC)
    await restarted.until_check(lambda c: c.at > after and c.skipped is None)
    # A replay of the announcement (as `showcasectl replay` publishes: a fresh message id).
    copy = stuck.model_copy(update={"event_id": events.new_id()})
    replayed = (await Publisher(js).publish(copy)).seq
    for durable in (subjects.ADMIN_ALERTS_DURABLE, subjects.STUCK_WATCH_DURABLE):
        await poll(lambda d=durable: _past(js, d, replayed), f"{durable} read the replay")  # type: ignore[misc]
    later = dt.datetime.now(dt.UTC)
    check = await restarted.until_check(lambda c: c.at > later and c.skipped is None)
    assert check.announced == ()
    assert len(messages(mail_dir[0])) == 1
    assert (await _status(intake, request_id))["status"] == "failed"

    # The studio presses Retry: a new stretch; still no syncer, so it is stuck (and failed) again,
    # and the admins, told once about this request, get no second e-mail.
    assert (await _next_stuck(announced)).event_id == copy.event_id  # the replay, heard
    retried = await intake.post(f"/api/requests/{request_id}/retry", auth=STUDIO)
    assert retried.status_code == 202, retried.text
    again = await _next_stuck(announced)
    assert again.last_progress_at > stuck.occurred_at
    await wait_for_state(js, request_id, lambda s: s["status"] == "failed")
    await poll(lambda: _settled(js, subjects.ADMIN_ALERTS_DURABLE), "the alerts read it")
    assert len(messages(mail_dir[0])) == 1


async def test_a_paused_fleet_is_not_stuck_and_the_clock_restarts_on_resume(
    bus, intake, gateway, alerters, mail_dir
) -> None:
    nc, js = bus
    control = KvFleetControl(js)
    await control.pause(PauseState(paused_by="ops", reason="a template is broken"))
    announced = await nc.subscribe(subjects.REQUEST_STUCK)
    alerter = alerters()
    request_id = await _submit(intake, "Held Spring")
    await wait_for_state(js, request_id, lambda s: s["status"] == "processing")
    created = dt.datetime.now(dt.UTC)

    # Watched, held, and checked well past the threshold: nothing is stuck.
    check = await alerter.until_check(
        lambda c: c.skipped is None and (c.at - created).total_seconds() > 3 * AFTER_S
    )
    assert check.held and check.announced == ()
    entries = await alerter.ports.watch_book.entries()
    assert [e.request.request_id for e in entries] == [request_id]
    assert (await _status(intake, request_id))["status"] == "processing"
    assert messages(mail_dir[0]) == []

    await control.resume()
    resumed = await control.lifted_at()
    assert resumed is not None
    stuck = await _next_stuck(announced)  # still no syncer: it is stuck, counted from the resume
    assert stuck.last_progress_at < resumed
    assert (stuck.occurred_at - resumed).total_seconds() > AFTER_S
    await wait_for_state(js, request_id, lambda s: s["status"] == "failed")


async def _has_key(kv: Any, key: str) -> bool:
    try:
        return key in (await kv.keys())
    except NoKeysError:  # nothing recorded yet
        return False


async def _past(js: JetStreamContext, durable: str, seq: int) -> bool:
    info = await js.consumer_info(subjects.STREAM, durable)
    return bool(info.ack_floor and info.ack_floor.stream_seq >= seq)
