"""The index database's shared tables: what intake writes and every machine reads.

Tables only the intake uses (requests, outbox, idempotency keys) live in the intake service;
these are the ones a snapshot carries to the fleet.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, UniqueConstraint
from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(index=True, unique=True, max_length=64)
    password_hash: str
    is_admin: bool = False


class Location(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=120)
    region: str = Field(max_length=16)
    locale: str | None = Field(default=None, max_length=16)
    logo: str | None = Field(default=None, max_length=200)
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True)


class Showcase(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("location_id", "year", "key", name="uq_showcase_key"),
        UniqueConstraint("location_id", "year", "name", name="uq_showcase_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    year: int = Field(index=True)
    key: str = Field(max_length=64)
    name: str = Field(max_length=120)
    order: int = 0
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    updated_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))


SHARED_TABLES = (User, Location, Showcase)


def create_shared_schema(engine: Engine) -> None:
    """Create the shared tables only (the metadata may also hold a service's own tables)."""
    SQLModel.metadata.create_all(engine, tables=[t.__table__ for t in SHARED_TABLES])  # type: ignore[attr-defined]
