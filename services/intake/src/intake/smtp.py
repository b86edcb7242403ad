"""Admin notices by e-mail, over SMTP."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from intake.ports import Mailer


class SmtpMailer(Mailer):
    def __init__(self, host: str, port: int, sender: str, to: str, timeout_s: float) -> None:
        self._host, self._port, self._timeout_s = host, port, timeout_s
        self._sender, self._to = sender, to

    async def send(self, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = self._to
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(
            message, hostname=self._host, port=self._port, timeout=self._timeout_s
        )
