"""Intake-only tables (requests, outbox, mail outbox, idempotency keys) and the API's public shapes.

The shared tables (User, Location, Showcase) live in `showcase_common.index.models`.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr
from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Request(SQLModel, table=True):
    """A studio's request: one showcase to roll out to the fleet."""

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="user.id", index=True)
    showcase_id: int = Field(foreign_key="showcase.id", index=True)
    status: str = Field(default="queued", max_length=16)
    """queued (saved, not on the bus yet) or published (the relay's PubAck came back)."""
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Outbox(SQLModel, table=True):
    """An event written in the same transaction as the change it announces."""

    id: str = Field(primary_key=True, max_length=96)
    """Also the Nats-Msg-Id, so a re-publish after a crash is de-duplicated by JetStream."""
    subject: str = Field(max_length=120)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    request_id: str | None = Field(default=None, index=True, max_length=32)
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    sent_at: dt.datetime | None = Field(default=None, index=True)


class MailOutbox(SQLModel, table=True):
    """An e-mail written in the same transaction as the change it announces; the mail relay
    sends it and sets `sent_at` only after the SMTP server accepted it."""

    __tablename__ = "mail_outbox"

    id: str = Field(primary_key=True, max_length=32)
    """Also the Message-ID's left part, so a resend after a crash is recognisable as one mail."""
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, index=True)
    """Not before: a retry's backoff, or a running attempt's lease (a crash mid-send expires it)."""
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: dt.datetime | None = Field(default=None, index=True)
    failed_at: dt.datetime | None = None
    """Set when the server refused the mail for good (5xx): it is never tried again."""


class IdempotencyKey(SQLModel, table=True):
    """The first answer to a POST carrying an Idempotency-Key, per user."""

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=200)
    body_sha256: str = Field(max_length=64)
    status_code: int
    response: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


class ShowcaseIn(BaseModel):
    """The JSON body of POST /api/showcases: the form's fields, strictly typed."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    location_id: StrictInt
    key: StrictStr | None = None
    year: StrictInt | None = None
    start_date: StrictStr | None = None
    end_date: StrictStr | None = None
    return_to: StrictStr | None = None


class ShowcasePublic(BaseModel):
    id: int
    location_id: int
    location_key: str
    year: int
    key: str
    name: str
    order: int
    start_date: dt.date | None
    end_date: dt.date | None


class ProgressLink(BaseModel):
    ws_url: str
    token: str


class ShowcaseCreatedOut(BaseModel):
    showcase: ShowcasePublic
    request_id: str | None
    status_url: str | None = None
    progress: ProgressLink | None = None
    redirect_url: str
    notice: str | None = None


class RetryOut(BaseModel):
    request_id: str
    state: dict[str, object]
    status_url: str
    progress: ProgressLink
