"""The two kinds of handler failure, which the consumer loop turns into nak or term, and the
one error of a bus that cannot be reached."""

from __future__ import annotations


class HandlerError(Exception):
    """Base of the errors a handler raises on purpose."""


class RetryableError(HandlerError):
    """Worth trying again later (a server down, a timeout): the loop naks with a backoff delay.

    `delay_s` overrides the loop's backoff for this one message.
    """

    def __init__(self, message: str, *, delay_s: float | None = None) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class PermanentError(HandlerError):
    """Will never succeed as it is (bad data, a refused request): the loop terms the message."""


class BusUnavailable(Exception):
    """NATS cannot be reached right now: intake keeps the work in its outbox for later, an
    operator's command exits 1 saying so."""
