"""E-mail over SMTP: the admins' notices and the studios' e-mails about their requests."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from intake.ports import MailRejected, MailUnavailable


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, to: str, timeout_s: float) -> None:
        self._host, self._port, self._timeout_s = host, port, timeout_s
        self._sender, self._to = sender, to

    async def send(
        self,
        subject: str,
        body: str,
        *,
        message_id: str,
        to: str | None = None,
        html: str | None = None,
    ) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to or self._to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
        try:
            await aiosmtplib.send(
                message, hostname=self._host, port=self._port, timeout=self._timeout_s
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _classified([r.code for r in exc.recipients], exc) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _classified([exc.code], exc) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailUnavailable(str(exc) or type(exc).__name__) from exc


def _classified(codes: list[int], exc: Exception) -> Exception:
    """5xx for every recipient is final; anything else (4xx) may pass on a later attempt."""
    if codes and all(code >= 500 for code in codes):
        return MailRejected(str(exc))
    return MailUnavailable(str(exc))
