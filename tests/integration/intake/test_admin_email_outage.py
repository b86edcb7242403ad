"""The admin's e-mail is durable: saved with the showcase while SMTP is down, sent exactly once
when a real SMTP server (aiosmtpd) comes up, even across an intake restart on the same file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from devstack.ports import free_port
from fastapi import FastAPI
from intake.bootstrap import ports
from intake.config import IntakeSettings
from intake.mail import pending
from intake.models import MailOutbox
from intake.seed import seed
from sqlmodel import select

from tests.integration.intake.conftest import SmtpSink, real_settings
from tests.support.waiting import eventually
from tests.unit.intake.conftest import ADMIN, deps_of, in_process


def outage_settings(tmp_path: Path, nats_url: str, smtp_port: int) -> IntakeSettings:
    return real_settings(
        tmp_path,
        nats_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="intake@studio.test",
        smtp_to="admins@test",
        smtp_timeout_s=2.0,
        mail_retry_s=0.1,
        mail_retry_max_s=0.4,
    )


@contextmanager
def smtp_server(port: int) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


async def submit_while_smtp_is_down(app: FastAPI) -> MailOutbox:
    """The admin's form post: 303, the row saved, and tried (in vain) more than once."""
    db = deps_of(app).db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
        form = {"name": "Winter Ball", "location_id": "2", "year": "2026"}
        response = await client.post("/showcases", data=form, auth=ADMIN)
        assert response.status_code == 303

    async def retried() -> bool:
        rows = pending(db)
        return len(rows) == 1 and rows[0].attempts >= 2

    await eventually(retried)
    [row] = pending(db)
    assert row.sent_at is None and row.last_error
    return row


def mail_rows(app: FastAPI) -> list[MailOutbox]:
    with deps_of(app).db.session() as session:
        return list(session.exec(select(MailOutbox)))


async def test_mail_waits_for_smtp_then_arrives_once(tmp_path: Path, nats_url: str) -> None:
    port = free_port()
    settings = outage_settings(tmp_path, nats_url, port)
    seed(settings.index_db_path)
    app = in_process(settings, ports(settings), background=True)
    async with app.router.lifespan_context(app):
        row = await submit_while_smtp_is_down(app)
        with smtp_server(port) as sink:

            async def recorded() -> bool:
                # The sink has the message a moment before the relay commits `sent_at`: wait
                # for both, or a drain in between would find the row still leased, not sent.
                return len(sink.messages) >= 1 and mail_rows(app)[0].sent_at is not None

            await eventually(recorded)
            assert await deps_of(app).mail_relay.drain() == 0
        [sent] = mail_rows(app)
        assert sent.sent_at is not None
    assert [m["Message-ID"] for m in sink.messages] == [f"<showcase-notice.{row.id}@studio.test>"]


async def test_mail_survives_a_restart_and_arrives_once(tmp_path: Path, nats_url: str) -> None:
    port = free_port()
    settings = outage_settings(tmp_path, nats_url, port)
    seed(settings.index_db_path)
    first = in_process(settings, ports(settings), background=True)
    async with first.router.lifespan_context(first):
        row = await submit_while_smtp_is_down(first)
    # Intake stops with the mail unsent; SMTP comes up; a new intake opens the same file.
    with smtp_server(port) as sink:
        second = in_process(settings, ports(settings), background=True)
        async with second.router.lifespan_context(second):

            async def arrived() -> bool:
                return len(sink.messages) >= 1

            await eventually(arrived)
        third = in_process(
            settings, ports(settings), background=True
        )  # and once more, after the send
        async with third.router.lifespan_context(third):
            assert await deps_of(third).mail_relay.drain() == 0
            [sent] = mail_rows(third)
            assert sent.sent_at is not None and sent.id == row.id
    [message] = sink.messages
    assert message["Subject"] == "Winter Ball was successfully created."
    assert message["To"] == "admins@test"
    assert message["Message-ID"] == f"<showcase-notice.{row.id}@studio.test>"
    assert "Created by: admin" in message.get_payload()
