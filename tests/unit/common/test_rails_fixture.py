"""The realistic fixture is what the tests and benches take it for: Rails-shaped, production-
sized, holding every kind of row the rules care about, the same for the same seed."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from showcase_common.index import is_rails_index, table_names

from tests.support.rails_fixture import build_rails_index, rails_rows


def test_the_same_seed_gives_the_same_file(tmp_path: Path) -> None:
    build_rails_index(tmp_path / "a.sqlite3", seed=3)
    build_rails_index(tmp_path / "b.sqlite3", seed=3)

    dumps = []
    for name in ("a", "b"):
        with sqlite3.connect(tmp_path / f"{name}.sqlite3") as db:
            dumps.append(_without_metadata("\n".join(db.iterdump())))
    assert dumps[0] == dumps[1]


def _without_metadata(dump: str) -> str:
    """The dump without ar_internal_metadata, whose timestamps are the time of creation."""
    return "\n".join(line for line in dump.splitlines() if "ar_internal_metadata" not in line)


def test_it_is_a_production_sized_rails_index(tmp_path: Path) -> None:
    rows = build_rails_index(tmp_path / "index.sqlite3")
    with sqlite3.connect(tmp_path / "index.sqlite3") as db:
        assert is_rails_index(table_names(db))
        assert db.execute("SELECT count(*) FROM showcases").fetchone()[0] == len(rows.showcases)

    assert len(rows.locations) == 80 and len(rows.users) == 300
    assert 330 <= len(rows.showcases) <= 410
    assert len({s.year for s in rows.showcases}) == 5


def test_it_holds_every_kind_of_row_the_rules_care_about() -> None:
    rows = rails_rows()
    dates = {_kind(s.date) for s in rows.showcases}
    per_year = Counter((s.year, s.location_id) for s in rows.showcases)
    lone = [
        s for s in rows.showcases if s.key == "showcase" and per_year[s.year, s.location_id] == 1
    ]
    served = {r.code for r in rows.regions if r.type == "fly"}

    assert dates == {"start", "range", "same-day", "empty", "null", "year", "mm-dd-yy"}
    assert lone and max(per_year.values()) >= 3
    assert {loc.locale for loc in rows.locations} >= {"en_US", "en_AU", "es_ES", "fr_CA", "", None}
    assert {loc.logo for loc in rows.locations} >= {"arthur-murray-logo.gif", "", None}
    assert any(loc.logo and loc.logo.endswith(".png") for loc in rows.locations)
    regions = {loc.region for loc in rows.locations}
    assert None in regions and regions - served - {None, ""} and regions & served
    assert any(loc.sisters for loc in rows.locations)
    assert any(u.password is None for u in rows.users)
    assert {r.type for r in rows.regions} == {"fly", "aws"}


def _kind(date: str | None) -> str:
    if date is None:
        return "null"
    if date == "":
        return "empty"
    if " - " in date:
        start, end = date.split(" - ")
        return "same-day" if start == end else "range"
    if len(date) == 4:
        return "year"
    return "start" if date[4] == "-" else "mm-dd-yy"


def test_a_bigger_fixture_keeps_every_location_key_and_page_unique() -> None:
    """At 10× (bench/agent_memory.py) no two locations share a key, so no two pages collide."""
    rows = rails_rows(10, locations=800, users=3000)
    keys = [loc.key for loc in rows.locations]
    assert len(set(keys)) == len(keys) == 800
    key_of = {loc.id: loc.key for loc in rows.locations}
    pages = [(s.year, key_of[s.location_id], s.key) for s in rows.showcases]
    assert len(set(pages)) == len(pages)
    assert [loc.key for loc in rails_rows().locations] == keys[:80]  # ×1 is as it was
