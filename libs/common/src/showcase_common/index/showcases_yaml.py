"""showcases.yml, shaped as the fleet has always shaped it.

year → location_key → {name, region, locale?, logo?,
                       date            (a single showcase keyed "showcase"), or
                       events → {key → {name, date}}}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import yaml

from showcase_common.index.models import Location, Showcase

SINGLE_SHOWCASE_KEY = "showcase"


def format_date(start: dt.date | None, end: dt.date | None) -> str | None:
    """ "2026-04-12", or "2026-04-12 - 2026-04-13" for a showcase of several days."""
    if start is None:
        return None
    if end is None or end == start:
        return start.isoformat()
    return f"{start.isoformat()} - {end.isoformat()}"


def build(
    locations: Iterable[Location], showcases: Iterable[Showcase]
) -> dict[int, dict[str, Any]]:
    """The showcases.yml document as plain data."""
    by_id = {loc.id: loc for loc in locations}
    grouped: dict[tuple[int, int], list[Showcase]] = {}
    for show in sorted(showcases, key=lambda s: (s.year, s.order or 0, s.id or 0)):
        grouped.setdefault((show.year, show.location_id), []).append(show)

    document: dict[int, dict[str, Any]] = {}
    for (year, location_id), shows in sorted(
        grouped.items(), key=lambda kv: (kv[0][0], by_id[kv[0][1]].key)
    ):
        location = by_id[location_id]
        document.setdefault(year, {})[location.key] = _location_entry(location, shows)
    return document


def _location_entry(location: Location, shows: list[Showcase]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": location.name, "region": location.region}
    locale = (location.locale or "").replace("_", "-")
    if locale and locale != "en-US":  # RAILS_INDEX.md; the fleet's exact generator replaces this
        entry["locale"] = locale
    if location.logo:
        entry["logo"] = location.logo
    if len(shows) == 1 and shows[0].key == SINGLE_SHOWCASE_KEY:
        entry["date"] = shows[0].date
    else:
        entry["events"] = {s.key: {"name": s.name, "date": s.date} for s in shows}
    return entry


def render(locations: Iterable[Location], showcases: Iterable[Showcase]) -> str:
    """showcases.yml as text (stable ordering, so an unchanged index gives identical bytes)."""
    return yaml.safe_dump(build(locations, showcases), sort_keys=False, allow_unicode=True)
