"""Intake-only tables (requests, outbox, mail outbox, idempotency keys) and the API's public shapes.

The shared tables (User, Location, Showcase) live in `showcase_common.index.models`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from annotated_types import Interval
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, StringConstraints
from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from intake.showcases import KEY_MAX, NAME_MAX, RETURN_TO_MAX, YEAR_MAX, YEAR_MIN


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


MAX_ID = 2**63 - 1
"""SQLite's largest integer: an id beyond it can name no row (and overflowed in the query)."""

Name = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)
]
Key = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, max_length=KEY_MAX, pattern=r"^(?:[a-z0-9-]+)?$"),
]
"""Blank: derived from the name. The finer rule (single dashes between) is `showcases._key`."""
Date = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, pattern=r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2})?$"),
]
"""YYYY-MM-DD, or blank."""


class ShowcaseIn(BaseModel):
    """The JSON body of POST /api/showcases: the form's fields, strictly typed and bounded.

    The bounds are the rules' own (`showcases.py`), so a number or string out of range is a 422
    naming the field before any query runs, and the OpenAPI schema states them."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    location_id: Annotated[StrictInt, Interval(ge=1, le=MAX_ID)]
    key: Key | None = None
    year: Annotated[StrictInt, Interval(ge=YEAR_MIN, le=YEAR_MAX)] | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    return_to: Annotated[StrictStr, StringConstraints(max_length=RETURN_TO_MAX)] | None = None


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
