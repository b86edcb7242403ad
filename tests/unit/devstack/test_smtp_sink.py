"""The SMTP sink keeps each message as a file."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from devstack.ports import free_port
from devstack.smtp_sink import messages, sink


def test_a_sent_message_lands_in_the_maildir(tmp_path: Path) -> None:
    maildir = tmp_path / "mail"
    controller = sink(maildir, free_port())
    controller.start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x", "b@y", "Spring was created"
        message.set_content("hello")
        with smtplib.SMTP(controller.hostname, controller.port) as client:
            client.send_message(message)
    finally:
        controller.stop()
    kept = messages(maildir)
    assert [m["Subject"] for m in kept] == ["Spring was created"]
    assert len(list((maildir / "new").iterdir())) == 1


def test_an_empty_or_missing_maildir_has_no_messages(tmp_path: Path) -> None:
    assert messages(tmp_path / "nowhere") == []
