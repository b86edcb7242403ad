"""The Rails application's index tables, mapped as Rails created them.

The pipeline reads and writes these rows exactly as the Rails application does, and never
creates, alters or drops these tables: `schema.py` holds their DDL for seeding a new index and
for test fixtures, and the pipeline's own tables (prefixed `pipeline_`) live on another
metadata. Column meanings the schema does not show are in `../shared/RAILS_INDEX.md`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

RAILS_REGISTRY = registry()
RAILS_METADATA = RAILS_REGISTRY.metadata
"""The Rails tables' metadata, apart from SQLModel's default one: `create_all` on the pipeline's
metadata can never touch them."""


def rails_now() -> dt.datetime:
    """A timestamp as Rails writes `datetime(6)`: UTC, stored `YYYY-MM-DD HH:MM:SS.ffffff`."""
    return dt.datetime.now(dt.UTC)


class RailsTable(SQLModel, registry=RAILS_REGISTRY):
    """Every Rails table has an autoincrement id and two `datetime(6) NOT NULL` timestamps."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: dt.datetime = Field(default_factory=rails_now)
    updated_at: dt.datetime = Field(default_factory=rails_now)


class User(RailsTable, table=True):
    """A login. `password` is a whole htpasswd line (`userid:hash`), NULL for no login; `sites`
    a comma-separated list of location names, `index` among them meaning an admin."""

    __tablename__ = "users"

    userid: str | None = None
    password: str | None = None
    email: str | None = None
    name1: str | None = None
    name2: str | None = None
    token: str | None = None
    link: str | None = None
    sites: str | None = None


class Location(RailsTable, table=True):
    """A studio location: `key` is its URL segment, `region` a Fly region code, `user_id` its
    owner, `sisters` comma-separated names of locations its owner may also act for."""

    __tablename__ = "locations"

    key: str | None = None
    name: str | None = None
    logo: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    user_id: int | None = Field(default=None, index=True)
    region: str | None = None
    sisters: str | None = None
    trust_level: int | None = 0
    locale: str | None = "en_US"


class Showcase(RailsTable, table=True):
    """One event of a location in a year. `date` is free text: `START` or `START - END` for the
    rows the pipeline writes, anything (`2025`, `11-11-23`) in old rows; `order` is global."""

    __tablename__ = "showcases"

    year: int | None = None
    key: str | None = None
    name: str | None = None
    location_id: int = Field(foreign_key="locations.id", index=True)
    order: int | None = None
    date: str | None = None


class Region(RailsTable, table=True):
    """A deployment region; rows of `type` `fly` are the default served regions."""

    __tablename__ = "regions"

    type: str | None = None
    code: str | None = None
    location: str | None = None
    latitude: float | None = None
    longitude: float | None = None
