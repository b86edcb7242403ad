"""The ports intake's use cases lean on; adapters implement them, tests use the fakes in
`tests/support/fakes`."""

from __future__ import annotations

import logging
from typing import Protocol

from showcase_common.audit import OperatorAction
from showcase_common.events import Event
from showcase_common.progress import RequestProgress

log = logging.getLogger(__name__)


class Pipeline(Protocol):
    """The rest of the pipeline as intake reaches it over the bus (NATS JetStream): publishing
    events, recording operator actions, reading a request's state."""

    @property
    def connected(self) -> bool: ...

    async def publish(self, event: Event, *, msg_id: str) -> None:
        """Publish and wait for the PubAck; `BusUnavailable` when it did not come."""

    async def record_action(self, action: OperatorAction) -> None:
        """Record an operator action (a Retry) in the audit trail; `BusUnavailable` if not."""

    async def request_state(self, request_id: str) -> RequestProgress | None:
        """The gateway's latest state of a request, None if it has none yet."""


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
        `to` None is the admins' address; `html` an HTML part beside the text.
        Raises `MailUnavailable` or `MailRejected`."""


class LogMailer:
    """Used when no SMTP host is configured: the notice only reaches the log."""

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
