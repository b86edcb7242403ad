"""The mail relay on a real SQLite file with a fake mailer and a clock the test moves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from intake.db_lanes import Database
from intake.index_db import create_schema, make_engine
from intake.mail import MailRelay, message_id, pending
from intake.models import MailOutbox
from intake.seed import seed
from intake.showcases import Draft
from intake.use_cases import Created, UseCases
from showcase_common.index.models import User
from sqlmodel import select

from tests.support.fakes import FakeMailer, FixedClock

pytestmark = pytest.mark.asyncio

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    seed(tmp_path / "index.sqlite3")
    db = Database(make_engine(tmp_path / "index.sqlite3"))
    create_schema(db.engine)
    return db


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def relay(db: Database, mailer: FakeMailer, clock: FixedClock) -> MailRelay:
    return MailRelay(db, mailer, clock, domain="intake.test", retry_s=10, retry_max_s=40)


def add_row(
    db: Database, row_id: str = "r1", subject: str = "Gala was successfully created."
) -> None:
    with db.writing() as session:
        session.add(
            MailOutbox(id=row_id, subject=subject, body="b", created_at=T0, next_attempt_at=T0)
        )


def stored(db: Database, row_id: str = "r1") -> MailOutbox:
    with db.session() as session:
        row = session.get(MailOutbox, row_id)
        assert row is not None
        return row


async def test_one_row_is_sent_once_with_a_message_id_from_its_id(
    db: Database, clock: FixedClock
) -> None:
    mailer = FakeMailer()
    add_row(db)
    assert await relay(db, mailer, clock).drain() == 1
    assert mailer.sent == [("Gala was successfully created.", "b")]
    assert (
        mailer.message_ids
        == [message_id("r1", "intake.test")]
        == ["<showcase-notice.r1@intake.test>"]
    )
    clock.now = T0 + dt.timedelta(days=1)
    # Marked sent: a later pass, or another relay on the same file, never sends it again.
    assert await relay(db, mailer, clock).drain() == 0
    assert mailer.attempts == 1 and stored(db).sent_at is not None


async def test_smtp_down_is_retried_with_backoff_then_sent_once(
    db: Database, clock: FixedClock
) -> None:
    mailer = FakeMailer(up=False)
    mail = relay(db, mailer, clock)
    add_row(db)
    assert await mail.drain() == 0
    assert mailer.attempts == 1 and "down" in (stored(db).last_error or "")
    assert await mail.drain() == 0  # backing off: not tried again at once
    assert mailer.attempts == 1
    clock.now = T0 + dt.timedelta(seconds=10)
    assert await mail.drain() == 0  # still down: the wait doubles
    assert mailer.attempts == 2
    clock.now += dt.timedelta(seconds=19)
    assert await mail.drain() == 0 and mailer.attempts == 2
    mailer.up = True
    clock.now += dt.timedelta(seconds=1)
    assert await mail.drain() == 1
    assert await mail.drain() == 0
    assert len(mailer.sent) == 1 and len(set(mailer.message_ids)) == 1
    assert pending(db) == []


async def test_down_server_stops_the_pass_and_keeps_the_order(
    db: Database, clock: FixedClock
) -> None:
    mailer = FakeMailer(up=False)
    add_row(db, "a", "first")
    add_row(db, "b", "second")
    assert await relay(db, mailer, clock).drain() == 0
    assert mailer.attempts == 1  # the second row is not tried against a server that is down
    mailer.up = True
    clock.now = T0 + dt.timedelta(minutes=1)
    assert await relay(db, mailer, clock).drain() == 2
    assert [subject for subject, _ in mailer.sent] == ["first", "second"]


async def test_a_refused_mail_is_not_retried(db: Database, clock: FixedClock) -> None:
    mailer = FakeMailer(refuse=True)
    add_row(db)
    assert await relay(db, mailer, clock).drain() == 0
    clock.now = T0 + dt.timedelta(days=1)
    assert await relay(db, mailer, clock).drain() == 0
    assert mailer.attempts == 1 and stored(db).failed_at is not None and pending(db) == []


async def test_a_claimed_row_is_not_sent_by_a_second_relay(db: Database, clock: FixedClock) -> None:
    """A crash after the claim leaves the row leased: nobody sends it until the lease ends."""
    first, second = FakeMailer(), FakeMailer()
    add_row(db)
    assert relay(db, first, clock)._claim("r1") is not None  # then "crashes" before sending
    assert await relay(db, second, clock).drain() == 0
    clock.now = T0 + dt.timedelta(seconds=121)  # the lease (120 s) has run out
    assert await relay(db, second, clock).drain() == 1
    assert second.message_ids == ["<showcase-notice.r1@intake.test>"] and first.sent == []


async def test_admin_showcase_commits_its_mail_row(db: Database) -> None:
    """The row is written by the showcase's own transaction; a studio's showcase writes none."""
    with db.session() as session:
        admin = session.exec(select(User).where(User.userid == "admin")).one()
        studio = session.exec(select(User).where(User.userid == "studio")).one()
    woken: list[str] = []
    use_cases = UseCases(
        db,
        lambda: T0,
        "http://fleet.test",
        lambda: None,
        lambda: None,
        lambda: woken.append("mail"),
    )
    await use_cases.create_showcase(studio, Draft(name="Recital", location_id=1, year=2026))
    assert pending(db) == [] and woken == []
    created = await use_cases.create_showcase(admin, Draft(name="Gala", location_id=2, year=2026))
    assert isinstance(created, Created)
    assert created.request_id is None
    [row] = pending(db)
    assert row.subject == "Gala was successfully created." and "Created by: admin" in row.body
    assert woken == ["mail"]
