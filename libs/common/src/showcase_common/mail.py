"""E-mail: the one `Mailer` port and its adapters, for intake (the admins' notices, the studios'
e-mails) and the admin alerter (`showcasectl alerts run`).

A mail is sent at least once and recognisable as one: the caller records that it was sent only
after `send` returned (the server accepted it), and gives every attempt of the same mail the
same `message_id` (derived from what the mail is about: an outbox row, a request's failure), so
a retry after a crash between the two is the same Message-ID, never a second, different mail.
`send` raises `MailUnavailable` when trying later may work (server down, timeout, 4xx) and
`MailRejected` when it will not (5xx for every recipient).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib

log = logging.getLogger(__name__)


class MailUnavailable(Exception):
    """The mail server cannot take the message right now (down, timeout, 4xx): try again later."""


class MailRejected(Exception):
    """The mail server refused the message for good (5xx): sending it again would not help."""


class Mailer(Protocol):
    async def send(
        self,
        subject: str,
        body: str,
        *,
        message_id: str,
        to: str | None = None,
        html: str | None = None,
    ) -> None:
        """Return only once the server accepted the message; `message_id` is its Message-ID
        header (the same on every attempt, so a resend is recognisable as the same mail).
        `to` None is the mailer's default recipient (the admins); `html` an HTML part beside
        the text. Raises `MailUnavailable` or `MailRejected`."""


def message_id(kind: str, key: str, domain: str) -> str:
    """A Message-ID derived from what the mail is about (`kind`, `key`): the same on every
    attempt."""
    return f"<showcase-{kind}.{key}@{domain}>"


def domain_of(sender: str, default: str = "showcase.invalid") -> str:
    """The domain of a sender address (for Message-IDs); `default` when it has none."""
    _, _, domain = sender.rpartition("@")
    return domain.strip(" <>") or default


class SmtpMailer:
    """SMTP with aiosmtplib: the event loop keeps running (a consumer's heartbeats) while the
    server answers."""

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


class LogMailer:
    """Used when no SMTP host is configured: the mail only reaches the log."""

    async def send(
        self,
        subject: str,
        body: str,
        *,
        message_id: str,
        to: str | None = None,
        html: str | None = None,
    ) -> None:
        log.info("e-mail %s to %s (no SMTP host configured): %s", message_id, to, subject)


def smtp_or_log(host: str, port: int, sender: str, to: str, timeout_s: float) -> Mailer:
    """`SmtpMailer` to `host`, or `LogMailer` when no host is configured (empty)."""
    if not host:
        return LogMailer()
    return SmtpMailer(host, port, sender, to, timeout_s)
