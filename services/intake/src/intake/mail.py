"""E-mail, durable: a `pipeline_mail_outbox` row committed with what it announces (an admin's
showcase; a request's outcome, `intake.outcomes`), sent by a relay.

The row is written in the showcase's own transaction, so a crash or an SMTP outage cannot lose
the notice. The relay sends due rows through the Mailer port and sets `sent_at` only after the
server accepted; a row with `sent_at` is never sent again. Before sending, the relay claims the
row by pushing `next_attempt_at` past a lease (one conditional UPDATE), so two relays (two
processes, or the loop and a manual `drain()`) never send the same row at once. What remains is
a crash between the server's acceptance and the mark: the row is sent again when its lease
expires, with the same Message-ID (derived from the row id), so it is recognisable as one mail.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable

from showcase_common import events
from showcase_common.backoff import Backoff
from showcase_common.index.models import Location, Showcase, User
from showcase_common.mail import Mailer, MailRejected
from showcase_common.mail import domain_of as _domain_of
from showcase_common.mail import message_id as _message_id
from sqlalchemy import update
from sqlmodel import col, select

from intake import metrics
from intake.background import PollingRelay
from intake.db_lanes import Database
from intake.models import MailOutbox

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def notice_for(showcase: Showcase) -> str:
    return f"{showcase.name} was successfully created."


def admin_notice(
    showcase: Showcase, location: Location, user: User, now: dt.datetime
) -> MailOutbox:
    """The e-mail row announcing an admin's new showcase."""
    body = (
        f"{notice_for(showcase)}\n\nLocation: {location.name} ({location.key})\n"
        f"Year: {showcase.year}\nKey: {showcase.key}\nCreated by: {user.userid}\n\n"
        "It is deployed to the fleet by the operator's `showcasectl apply`.\n"
    )
    return MailOutbox(
        id=events.new_id(),
        subject=notice_for(showcase),
        body=body,
        created_at=now,
        next_attempt_at=now,
    )


def message_id(row_id: str, domain: str) -> str:
    """The Message-ID of a row's e-mail: the same on every attempt."""
    return _message_id("notice", row_id, domain)


def domain_of(sender: str) -> str:
    return _domain_of(sender, default="intake.invalid")


class Outcome(enum.Enum):
    SENT = "sent"
    REJECTED = "rejected"
    RETRY = "retry"
    SKIPPED = "skipped"  # another relay holds it, or it is done


class MailRelay(PollingRelay):
    def __init__(
        self,
        db: Database,
        mailer: Mailer,
        clock: Clock,
        *,
        domain: str,
        poll_s: float = 2.0,
        retry_s: float = 1.0,
        retry_max_s: float = 300.0,
        lease_s: float = 120.0,
        batch: int = 20,
    ) -> None:
        super().__init__(poll_s)
        self._db, self._mailer, self._clock = db, mailer, clock
        self._domain, self._batch = domain, batch
        self._backoff = Backoff(base_s=retry_s, cap_s=retry_max_s)
        self._lease = dt.timedelta(seconds=lease_s)

    async def drain(self) -> int:
        """Send every due row, oldest first; stops at the first server that is not there.
        Returns how many were sent."""
        sent = 0
        while True:
            due = await self._db.read(self._due, bounded=False)
            if not due:
                return sent
            for row_id in due:
                outcome = await self.attempt(row_id)
                if outcome is Outcome.SENT:
                    sent += 1
                elif outcome is Outcome.RETRY:
                    return sent  # the server is down: the others would fail the same way

    async def attempt(self, row_id: str) -> Outcome:
        """One claimed attempt at one row."""
        outcome, studio = await self._attempt(row_id)
        if outcome is not Outcome.SKIPPED:
            counter = metrics.STUDIO_EMAILS if studio else metrics.ADMIN_EMAILS
            counter.labels(outcome.value).inc()
        return outcome

    async def _attempt(self, row_id: str) -> tuple[Outcome, bool]:
        """The attempt's outcome, and whether the row is a studio's e-mail (not the admins')."""
        row = await self._db.write(self._claim, row_id, bounded=False)
        if row is None:
            return Outcome.SKIPPED, False
        return await self._send(row), row.recipient is not None

    async def _send(self, row: MailOutbox) -> Outcome:
        try:
            await self._mailer.send(
                row.subject,
                row.body,
                message_id=message_id(row.id, self._domain),
                to=row.recipient,
                html=row.html,
            )
        except MailRejected as exc:
            log.error("mail %s refused for good: %s", row.id, exc)
            await self._db.write(self._mark_failed, row.id, str(exc), bounded=False)
            return Outcome.REJECTED
        except Exception as exc:  # down, timeout, 4xx, or a bug: all worth another try
            delay = self._backoff.delay(row.attempts)
            log.info(
                "mail %s not sent (attempt %d, next in %.1fs): %s", row.id, row.attempts, delay, exc
            )
            await self._db.write(self._retry_later, row.id, str(exc), delay, bounded=False)
            return Outcome.RETRY
        await self._db.write(self._mark_sent, row.id, bounded=False)
        return Outcome.SENT

    def _due(self) -> list[str]:
        now = self._clock()
        with self._db.session() as session:
            statement = (
                select(MailOutbox.id)
                .where(col(MailOutbox.sent_at).is_(None), col(MailOutbox.failed_at).is_(None))
                .where(col(MailOutbox.next_attempt_at) <= now)
                .order_by(col(MailOutbox.created_at), col(MailOutbox.id))
                .limit(self._batch)
            )
            return list(session.exec(statement))

    def _claim(self, row_id: str) -> MailOutbox | None:
        """The row, leased to this attempt; None if it is not due (any more)."""
        now = self._clock()
        with self._db.writing() as session:
            result = session.execute(
                update(MailOutbox)
                .where(col(MailOutbox.id) == row_id)
                .where(col(MailOutbox.sent_at).is_(None), col(MailOutbox.failed_at).is_(None))
                .where(col(MailOutbox.next_attempt_at) <= now)
                .values(next_attempt_at=now + self._lease, attempts=MailOutbox.attempts + 1)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                return None
            return session.get(MailOutbox, row_id)

    def _mark_sent(self, row_id: str) -> None:
        self._set(row_id, sent_at=self._clock(), last_error=None)

    def _mark_failed(self, row_id: str, error: str) -> None:
        self._set(row_id, failed_at=self._clock(), last_error=error[:500])

    def _retry_later(self, row_id: str, error: str, delay_s: float) -> None:
        later = self._clock() + dt.timedelta(seconds=delay_s)
        self._set(row_id, next_attempt_at=later, last_error=error[:500])

    def _set(self, row_id: str, **values: object) -> None:
        with self._db.writing() as session:
            session.execute(
                update(MailOutbox)
                .where(col(MailOutbox.id) == row_id, col(MailOutbox.sent_at).is_(None))
                .values(**values)
            )


def pending(db: Database) -> list[MailOutbox]:
    """Rows not sent and not refused (for tests and operators)."""
    with db.session() as session:
        statement = select(MailOutbox).where(
            col(MailOutbox.sent_at).is_(None), col(MailOutbox.failed_at).is_(None)
        )
        return list(session.exec(statement))
