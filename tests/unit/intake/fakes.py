"""Fakes that implement intake's real ports (no mocking library)."""

from __future__ import annotations

import datetime as dt

from intake.ports import Bus, BusUnavailable, Mailer, MailRejected, MailUnavailable
from showcase_common.events import Event
from showcase_common.progress import RequestProgress


class FakeBus(Bus):
    def __init__(self, *, up: bool = True) -> None:
        self.up = up
        self.published: list[tuple[str, Event]] = []
        self.states: dict[str, RequestProgress] = {}

    @property
    def connected(self) -> bool:
        return self.up

    async def publish(self, event: Event, *, msg_id: str) -> None:
        if not self.up:
            raise BusUnavailable("fake bus is down")
        if msg_id not in {m for m, _ in self.published}:  # JetStream's de-duplication
            self.published.append((msg_id, event))

    async def request_state(self, request_id: str) -> RequestProgress | None:
        if not self.up:
            raise BusUnavailable("fake bus is down")
        return self.states.get(request_id)


class FakeMailer(Mailer):
    """Keeps what it accepted; `up=False` is a server that is not there, `refuse` one that
    answers 5xx."""

    def __init__(self, *, up: bool = True, refuse: bool = False) -> None:
        self.up, self.refuse = up, refuse
        self.sent: list[tuple[str, str]] = []
        self.message_ids: list[str] = []
        self.attempts = 0

    async def send(self, subject: str, body: str, *, message_id: str) -> None:
        self.attempts += 1
        if not self.up:
            raise MailUnavailable("fake SMTP server is down")
        if self.refuse:
            raise MailRejected("550 fake SMTP server refuses")
        self.sent.append((subject, body))
        self.message_ids.append(message_id)


class FixedClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now
