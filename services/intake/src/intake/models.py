"""The pipeline's own tables (requests, outbox, mail outbox, idempotency keys, schema version)
and the API's public shapes.

The Rails tables (users, locations, showcases, regions) live in `showcase_common.index.models`,
on metadata of their own: `SQLModel.metadata` holds only the tables below, every one named with
the `pipeline_` prefix, so `create_all` on it can never create or alter a Rails table. Their
foreign keys point at the Rails tables' columns directly (a Column, not a "table.column" string,
since those tables are not on this metadata), with ON DELETE CASCADE so that the Rails
application deleting a user or a showcase is never blocked by the pipeline's bookkeeping.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from annotated_types import Interval
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
)
from showcase_common.index.models import Showcase, User
from sqlalchemy import Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from intake.showcases import (
    KEY_MAX,
    KEY_SCHEMA_PATTERN,
    NAME_MAX,
    NAME_SCHEMA_PATTERN,
    RETURN_TO_MAX,
    RETURN_TO_SCHEMA_PATTERN,
    YEAR_MAX,
    YEAR_MIN,
    blank_or,
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _references(
    column: Column[int], *, index: bool = False, primary_key: bool = False
) -> Column[int]:
    """An integer column referencing a Rails table's id (cascading its deletes)."""
    return Column(
        Integer,
        ForeignKey(column, ondelete="CASCADE"),
        nullable=False,
        index=index,
        primary_key=primary_key,
    )


class PipelineSchema(SQLModel, table=True):
    """One row: the version of the pipeline's own tables (see `intake.index_db`). Kept in a table of
    ours rather than `PRAGMA user_version`, which belongs to the whole file, Rails' part too."""

    __tablename__ = "pipeline_schema"

    id: int = Field(default=1, primary_key=True)
    version: int


class Request(SQLModel, table=True):
    """A studio's request: one showcase to roll out to the fleet."""

    __tablename__ = "pipeline_requests"

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(sa_column=_references(User.__table__.c.id, index=True))  # type: ignore[attr-defined]  # SQLModel's __table__
    showcase_id: int = Field(sa_column=_references(Showcase.__table__.c.id, index=True))  # type: ignore[attr-defined]  # SQLModel's __table__
    status: str = Field(default="queued", max_length=16, index=True)
    """queued (saved, not on the bus yet), published (the relay's PubAck came back),
    processing (retried), completed or failed (the outcome, recorded by `intake.outcomes`)."""
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    """When the fleet served it (completed) or it failed, on the event's clock."""


class Outbox(SQLModel, table=True):
    """An event written in the same transaction as the change it announces."""

    __tablename__ = "pipeline_outbox"

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

    __tablename__ = "pipeline_mail_outbox"

    id: str = Field(primary_key=True, max_length=32)
    """Also the Message-ID's left part, so a resend after a crash is recognisable as one mail.
    A studio's e-mail about its request is keyed by the request (`intake.studio_mail`), so a
    redelivered event finds its row already there."""
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The HTML part, when the mail has one (the studio's e-mails)."""
    recipient: str | None = Field(default=None, max_length=320)
    """None: the admins' address (SMTP_TO)."""
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, index=True)
    """Not before: a retry's backoff, or a running attempt's lease (a crash mid-send expires it)."""
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: dt.datetime | None = Field(default=None, index=True)
    failed_at: dt.datetime | None = None
    """Set when the server refused the mail for good (5xx): it is never tried again."""


class IdempotencyKey(SQLModel, table=True):
    """What a POST carrying an Idempotency-Key created, per user: the facts, not the answer.

    A replay renders a fresh answer from these ids (so its progress token is fresh too); the body
    digest tells a repeated key with another body apart. The showcase's deletion by the Rails
    application takes the key with it (the key then makes a new showcase)."""

    __tablename__ = "pipeline_idempotency_keys"

    user_id: int = Field(sa_column=_references(User.__table__.c.id, primary_key=True))  # type: ignore[attr-defined]  # SQLModel's __table__
    key: str = Field(primary_key=True, max_length=200)
    body_sha256: str = Field(max_length=64)
    showcase_id: int = Field(sa_column=_references(Showcase.__table__.c.id))  # type: ignore[attr-defined]  # SQLModel adds __table__ at class creation
    request_id: str | None = Field(default=None, max_length=32)
    """None for an admin's showcase: no request, no automation."""
    created_at: dt.datetime = Field(default_factory=utcnow)


MAX_ID = 2**63 - 1
"""SQLite's largest integer: an id beyond it can name no row (and overflowed in the query)."""

Name = Annotated[
    StrictStr,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=NAME_MAX, pattern=NAME_SCHEMA_PATTERN
    ),
]
Key = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, max_length=KEY_MAX, pattern=KEY_SCHEMA_PATTERN),
]
"""Blank: derived from the name."""
Date = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, pattern=r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2})?$"),
    # The schema says "a calendar date" (2026-02-30 is refused by `showcases._date`).
    WithJsonSchema(blank_or({"type": "string", "format": "date"})),
]
"""YYYY-MM-DD, or blank."""
ReturnTo = Annotated[
    StrictStr,
    StringConstraints(max_length=RETURN_TO_MAX),
    # `showcases.safe_return_to` decides; the schema states all of it but the printable rule.
    WithJsonSchema(
        {"type": "string", "maxLength": RETURN_TO_MAX, "pattern": RETURN_TO_SCHEMA_PATTERN}
    ),
]


def _integral(value: object) -> object:
    """JSON Schema counts 2.0 as an integer (a client may send one); 2.5, "2", true stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class ShowcaseIn(BaseModel):
    """The JSON body of POST /api/showcases: the form's fields, strictly typed and bounded.

    The bounds are the rules' own (`showcases.py`), so a number or string out of range is a 422
    naming the field before any query runs, and the OpenAPI schema states them (the rules it
    cannot state: `web.openapi.CROSS_FIELD_RULES`)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    location_id: Annotated[StrictInt, Interval(ge=1, le=MAX_ID), BeforeValidator(_integral)]
    key: Key | None = None
    year: (
        Annotated[StrictInt, Interval(ge=YEAR_MIN, le=YEAR_MAX), BeforeValidator(_integral)] | None
    ) = None
    start_date: Date | None = None
    end_date: Date | None = None
    return_to: ReturnTo | None = None


class ShowcasePublic(BaseModel):
    """A showcase as the API shows it. `date` is the index's own free-text column;
    `start_date` / `end_date` are read from it, null when it is free-form (`2025`)."""

    id: int
    location_id: int
    location_key: str | None
    year: int | None
    key: str | None
    name: str | None
    order: int | None
    date: str | None
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


class RequestSummary(BaseModel):
    """One request in `GET /api/requests` (and a row of `GET /requests`)."""

    request_id: str
    user: str
    showcase: str
    location_key: str
    location: str
    year: int | None
    status: str
    """queued, processing, completed or failed (the gateway's state when it has one)."""
    progress: int
    message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    duration_s: float | None
    """From the request to its outcome; None while it runs."""
    page_url: str
    """The request's progress page."""
    redirect_url: str | None
    """The live showcase's page, once completed."""


class RequestsOut(BaseModel):
    requests: list[RequestSummary]
    page: int
    pages: int
    per_page: int
    total: int


class TemplateOut(BaseModel):
    """`GET /api/showcases/{id}/template`: next year's occurrence of a past showcase, as the
    form's fields (`key` blank: derived afresh from the name)."""

    name: str
    location_id: int
    key: str = ""
    year: int
    start_date: dt.date | None
    end_date: dt.date | None
