"""The studio's done e-mail on real parts: a real intake process (SIGKILLed), a real nats-server,
a real SMTP server keeping a Maildir (the local run's sink). Issue 21, item 3."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import nats
from devstack.ports import free_port
from devstack.smtp_sink import messages, sink
from showcase_common import events, subjects
from showcase_common.bus.publisher import Publisher

from tests.support.intake import IntakeProcess
from tests.support.waiting import eventually
from tests.unit.intake.conftest import STUDIO


def _mail_row(index: Path, row_id: str) -> tuple[int, str | None] | None:
    with sqlite3.connect(index) as db:
        row = db.execute(
            "SELECT attempts, sent_at FROM pipeline_mail_outbox WHERE id = ?", (row_id,)
        ).fetchone()
    db.close()
    return None if row is None else (int(row[0]), row[1])


def _mail_rows(index: Path) -> int:
    with sqlite3.connect(index) as db:
        (count,) = db.execute("SELECT count(*) FROM pipeline_mail_outbox").fetchone()
    db.close()
    return int(count)


def _ref(created: dict[str, object]) -> events.RequestRef:
    show = created["showcase"]
    assert isinstance(show, dict)
    return events.RequestRef(
        request_id=str(created["request_id"]),
        user="studio",
        showcase=events.ShowcaseRef(
            showcase_id=show["id"],
            year=show["year"],
            location_key=show["location_key"],
            key=show["key"],
            name=show["name"],
        ),
        redirect_url=str(created["redirect_url"]),
    )


async def _publish(nats_url: str, event: events.Event, msg_id: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        return (await Publisher(nc.jetstream()).publish(event, msg_id=msg_id)).seq
    finally:
        await nc.close()


async def _consumed(nats_url: str, seq: int) -> bool:
    """Intake's outcome consumer has acknowledged everything up to stream sequence `seq`."""
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().consumer_info(subjects.STREAM, subjects.INTAKE_OUTCOMES_DURABLE)
        return info.ack_floor.stream_seq >= seq and info.num_ack_pending == 0
    finally:
        await nc.close()


async def test_done_mail_survives_a_sigkill_before_sending_and_is_never_sent_twice(
    tmp_path: Path, nats_url: str
) -> None:
    port = free_port()
    maildir = tmp_path / "mail"
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),  # nothing listens yet: the mail cannot be sent
        "SMTP_TIMEOUT_S": "1",
        "MAIL_RETRY_S": "0.2",
        "MAIL_RETRY_MAX_S": "0.5",
        "OUTBOX_POLL_S": "0.3",
        "PUBLIC_INTAKE_URL": "http://intake.example",
        "PUBLIC_FLEET_URL": "http://fleet.example",
    }
    intake = IntakeProcess(tmp_path / "intake", nats_url, env).start()
    try:
        body = {"name": "Spring Gala", "location_id": 1, "start_date": "2030-05-16"}
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(f"{intake.url}/api/showcases", json=body, auth=STUDIO)
        assert answer.status_code == 201, answer.text
        ref = _ref(answer.json())
        done = events.FleetUpdated(
            generation=2, requests=[ref], machine_ids=["local-1"], duration_s=0.3
        )
        await _publish(nats_url, done, "fleet-updated:2")

        async def tried_in_vain() -> bool:
            row = _mail_row(intake.index_path, ref.request_id)
            return row is not None and row[0] >= 1 and row[1] is None

        await eventually(tried_in_vain, timeout_s=60)
        intake.kill()  # recorded, never sent: the crash comes before any mail left

        controller = sink(maildir, port)
        controller.start()
        try:
            intake.start()  # the same index, the same durable consumer

            async def one_mail() -> bool:
                return len(messages(maildir)) == 1

            await eventually(one_mail, timeout_s=60)
            # redelivered (a re-publish under another id, as a replay does): nothing more
            seq = await _publish(nats_url, done, "fleet-updated:2:replayed")
            await eventually(lambda: _consumed(nats_url, seq), timeout_s=60)
            # acknowledged only after its transaction: had it queued a mail, the row would be there
            assert _mail_rows(intake.index_path) == 1
            assert len(messages(maildir)) == 1
        finally:
            controller.stop()
    finally:
        intake.stop()

    [mail] = messages(maildir)
    assert mail["To"] == "studio@localhost"
    assert mail["Subject"] == "Spring Gala is live"
    assert mail["Message-ID"] == f"<showcase-notice.{ref.request_id}@localhost>"
    assert mail.is_multipart() and mail.get_content_type() == "multipart/alternative"
    parts: Any = mail.get_payload()  # multipart: the text and the HTML part
    text, page = (part.get_payload(decode=True).decode() for part in parts)
    assert "http://fleet.example/showcase/2030/boston/spring-gala/" in text
    assert "It took" in text
    assert 'href="http://fleet.example/showcase/2030/boston/spring-gala/"' in page
    row = _mail_row(intake.index_path, ref.request_id)
    assert row is not None and row[1] is not None  # recorded as sent
