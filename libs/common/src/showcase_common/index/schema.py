"""The Rails index's DDL, and telling a Rails index from anything else.

`RAILS_SCHEMA` is what the Rails application's schema load creates in SQLite (the tables the
pipeline uses, Rails' bookkeeping tables and, empty, a few of the application's other tables,
as in the real file). The pipeline runs it only to create an index where there is none (the
local run's seed, test fixtures): an existing index is used as it is.
"""

from __future__ import annotations

import sqlite3

PIPELINE_PREFIX = "pipeline_"
"""The pipeline's own tables (outbox, idempotency keys, requests…) carry this prefix; they never
leave the intake's file (snapshots strip them)."""

INDEX_TABLES = frozenset({"users", "locations", "showcases", "regions"})
"""The Rails tables the pipeline reads: their presence makes a file a Rails index."""

LEGACY_TABLES = frozenset({"user", "location", "showcase"})
"""The singular tables of the pipeline's own schema before it used the Rails index."""

_TIMESTAMPS = '"created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL'
_ID = '"id" integer PRIMARY KEY AUTOINCREMENT NOT NULL'

RAILS_SCHEMA = f"""
CREATE TABLE "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY);
CREATE TABLE "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY, "value" varchar, {_TIMESTAMPS});
CREATE TABLE "users" ({_ID}, "userid" varchar, "password" varchar, "email" varchar, "name1" varchar, "name2" varchar, "token" varchar, "link" varchar, "sites" varchar, {_TIMESTAMPS});
CREATE TABLE "locations" ({_ID}, "key" varchar, "name" varchar, "logo" varchar, {_TIMESTAMPS}, "latitude" float, "longitude" float, "user_id" integer, "region" varchar, "sisters" varchar, "trust_level" integer DEFAULT 0, "locale" varchar DEFAULT 'en_US');
CREATE INDEX "index_locations_on_user_id" ON "locations" ("user_id");
CREATE TABLE "showcases" ({_ID}, "year" integer, "key" varchar, "name" varchar, "location_id" integer NOT NULL, {_TIMESTAMPS}, "order" integer, "date" varchar, CONSTRAINT "fk_rails_0b1d3a0c1d" FOREIGN KEY ("location_id") REFERENCES "locations" ("id"));
CREATE INDEX "index_showcases_on_location_id" ON "showcases" ("location_id");
CREATE TABLE "regions" ({_ID}, "type" varchar, "code" varchar, "location" varchar, "latitude" float, "longitude" float, {_TIMESTAMPS});
CREATE TABLE "events" ({_ID}, "name" varchar, "location" varchar, "date" varchar, "heat_range_cat" integer DEFAULT 0, "heat_range_level" integer DEFAULT 0, "heat_range_age" integer DEFAULT 0, {_TIMESTAMPS});
CREATE TABLE "studios" ({_ID}, "name" varchar, {_TIMESTAMPS});
CREATE TABLE "people" ({_ID}, "name" varchar, "studio_id" integer, "type" varchar, "back" integer, "level" varchar, "role" varchar, {_TIMESTAMPS}, CONSTRAINT "fk_rails_people_studios" FOREIGN KEY ("studio_id") REFERENCES "studios" ("id"));
CREATE INDEX "index_people_on_studio_id" ON "people" ("studio_id");
CREATE TABLE "dances" ({_ID}, "name" varchar, "category" varchar, "order" integer, {_TIMESTAMPS});
CREATE TABLE "heats" ({_ID}, "number" float, "category" varchar, "dance_id" integer NOT NULL, "entry_id" integer, {_TIMESTAMPS}, CONSTRAINT "fk_rails_heats_dances" FOREIGN KEY ("dance_id") REFERENCES "dances" ("id"));
CREATE INDEX "index_heats_on_dance_id" ON "heats" ("dance_id");
"""

SCHEMA_VERSIONS = ("20220122173243", "20230101000000", "20250601000000")
"""`schema_migrations` rows of a seeded index, so Rails sees a migrated database."""


def create_rails_index(conn: sqlite3.Connection) -> None:
    """Create the Rails tables in an empty database (one transaction; the caller commits)."""
    for statement in filter(str.strip, RAILS_SCHEMA.split(";\n")):
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO schema_migrations (version) VALUES (?)", [(v,) for v in SCHEMA_VERSIONS]
    )
    conn.execute(
        "INSERT INTO ar_internal_metadata (key, value, created_at, updated_at)"
        " VALUES ('environment', 'production', strftime('%Y-%m-%d %H:%M:%f000', 'now'),"
        " strftime('%Y-%m-%d %H:%M:%f000', 'now'))"
    )


def table_names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows if not name.startswith("sqlite_")}


def is_rails_index(tables: set[str]) -> bool:
    return tables >= INDEX_TABLES


def is_legacy_index(tables: set[str]) -> bool:
    """A database of the pipeline's own schema from before it used the Rails index."""
    return bool(LEGACY_TABLES & tables) and not is_rails_index(tables)


def rails_tables(tables: set[str]) -> set[str]:
    """The tables a snapshot carries: everything but the pipeline's own."""
    return {name for name in tables if not name.startswith(PIPELINE_PREFIX)}


def table_definitions(conn: sqlite3.Connection) -> dict[str, str]:
    """`sqlite_master` SQL of every table and index not the pipeline's: what must never change.

    An index belongs to its table (`tbl_name`): `ix_pipeline_…` on a pipeline table is the
    pipeline's whatever its own name."""
    rows = conn.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
    )
    return {name: sql for name, table, sql in rows if not table.startswith(PIPELINE_PREFIX)}
