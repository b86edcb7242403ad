"""Admin alerts: one e-mail per failed request, through a real SMTP server, never twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from devstack.ports import free_port
from devstack.smtp_sink import messages, sink
from showcase_common import events, subjects
from showcase_common.bus import ConsumerOptions, ensure_kv
from showcase_common.mail import SmtpMailer
from showcasectl.alerts import KvAlertLedger, alerts_consumer

from tests.integration.showcasectl.conftest import poll, publish_all, request_ref


async def _settled(js, durable: str) -> bool:
    info = await js.consumer_info(subjects.STREAM, durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_each_failed_request_is_mailed_once(js, tmp_path: Path) -> None:
    port = free_port()
    smtp = sink(tmp_path / "mail", port)
    smtp.start()
    mailer = SmtpMailer("127.0.0.1", port, "ctl@test", "admins@studio.test", 5.0)
    bucket = await ensure_kv(js, subjects.ADMIN_ALERTS_BUCKET)
    consumer = alerts_consumer(
        mailer,
        KvAlertLedger(lambda: bucket),
        max_age_s=3600,
        domain="ctl.test",
        options=ConsumerOptions(fetch_timeout_s=0.2),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(js, stop))
    try:
        a, b = request_ref("req-a"), request_ref("req-b", name="Fall Frolic")
        failure = events.FleetUpdateFailed(
            generation=3, requests=[a, b], updated=["m1"],
            failures=[events.MachineFailure(machine_id="m2", region="ord", error="HTTP 503")],
        )  # fmt: skip
        await publish_all(js, [
            events.IndexSyncFailed(requests=[a], error="storage unavailable"),
            failure,
            events.IndexSyncFailed(requests=[b], error="again"),  # b was mailed already
            events.IndexSyncFailed(  # too old to alert about (a first start reads history)
                requests=[request_ref("ancient")], error="x", occurred_at="2020-01-01T00:00:00Z"
            ),
            events.ShowcaseCreated(request=request_ref("req-c")),  # not a failure
        ])  # fmt: skip
        await poll(lambda: _settled(js, subjects.ADMIN_ALERTS_DURABLE), "alerts settled")
    finally:
        stop.set()
        await running
        smtp.stop()

    mail = messages(tmp_path / "mail")
    assert sorted(m["Subject"] for m in mail) == [
        "Showcase request failed: Fall Frolic (boston 2026)",
        "Showcase request failed: Spring Showcase (boston 2026)",
    ]
    assert all(m["To"] == "admins@studio.test" for m in mail)
    assert sorted(m["Message-ID"] for m in mail) == [  # derived from the request: a resend is one
        "<showcase-alert.req-a@ctl.test>",
        "<showcase-alert.req-b@ctl.test>",
    ]
    body_b = next(m for m in mail if "Fall" in m["Subject"]).get_payload()
    assert "m2 (ord): HTTP 503" in body_b and "showcasectl replay req-b" in body_b
    kv = await js.key_value(subjects.ADMIN_ALERTS_BUCKET)
    assert sorted(await kv.keys()) == ["req-a", "req-b"]
