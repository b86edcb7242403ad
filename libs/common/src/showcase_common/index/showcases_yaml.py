"""showcases.yml, exactly as the fleet's Rails code generates and reads it.

    YEAR (newest first):
      LOCATION_KEY (ascending):
        :name: …            the location's name
        :region: …          see `regions.region_for`; nil written as `:region:` alone
        :locale: …          only when not empty and not en-US (`_` written `-`)
        :logo: …            only when not empty and not arthur-murray-logo.gif
        :date: …            a lone showcase keyed `showcase` (omitted when its date is empty), or
        :events:            KEY → {:name:, :date: (omitted when empty)}, in ascending `order`

Rules from ../shared/RAILS_INDEX.md; bytes as Psych's `to_yaml` writes them (`psych.dump`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import Any

from showcase_common.index.pages import is_lone_showcase
from showcase_common.index.psych import RubySymbol, dump
from showcase_common.index.regions import ServedRegion, present, region_for
from showcase_common.index.rows import LocationRow, ShowcaseRow

DEFAULT_LOCALE = "en-US"
DEFAULT_LOGO = "arthur-murray-logo.gif"

NAME, REGION, LOCALE, LOGO, DATE, EVENTS = map(
    RubySymbol, ("name", "region", "locale", "logo", "date", "events")
)

Document = dict[int, dict[str, dict[RubySymbol, Any]]]


def build(
    locations: Iterable[LocationRow],
    showcases: Iterable[ShowcaseRow],
    served: Sequence[ServedRegion],
) -> Document:
    """The document as the Ruby hash it stands for (`RubySymbol` keys are Ruby symbols).

    Showcases without a year or whose location is missing are left out: no page reads them.
    """
    by_id = {loc.id: loc for loc in locations if loc.key is not None}
    rows = [s for s in showcases if s.year is not None and s.location_id in by_id]
    rows.sort(key=lambda s: (-(s.year or 0), by_id[s.location_id].key or "", *_in_order(s)))
    document: Document = {}
    for (year, location_key), group in groupby(
        rows, key=lambda s: (s.year or 0, by_id[s.location_id].key or "")
    ):
        shows = list(group)
        document.setdefault(year, {})[location_key] = _entry(
            by_id[shows[0].location_id], shows, served
        )
    return document


def render(
    locations: Iterable[LocationRow],
    showcases: Iterable[ShowcaseRow],
    served: Sequence[ServedRegion],
) -> str:
    """showcases.yml as text: the same bytes as Psych writes for `build`'s hash."""
    return dump(build(locations, showcases, served))


def _in_order(show: ShowcaseRow) -> tuple[int, int, int]:
    # Rails sorts by `order` in SQL (NULLs first), then reads the rows back ascending.
    return (0 if show.order is None else 1, show.order or 0, show.id or 0)


def _entry(
    location: LocationRow, shows: list[ShowcaseRow], served: Sequence[ServedRegion]
) -> dict[RubySymbol, Any]:
    entry: dict[RubySymbol, Any] = {NAME: location.name, REGION: region_for(location, served)}
    locale = (location.locale or "").replace("_", "-")
    if present(locale) and locale != DEFAULT_LOCALE:
        entry[LOCALE] = locale
    if present(location.logo) and location.logo != DEFAULT_LOGO:
        entry[LOGO] = location.logo
    if is_lone_showcase(shows[0].key or "", len(shows)):
        if present(shows[0].date):
            entry[DATE] = shows[0].date
    else:
        entry[EVENTS] = {show.key: _event(show) for show in shows}
    return entry


def _event(show: ShowcaseRow) -> dict[RubySymbol, Any]:
    event: dict[RubySymbol, Any] = {NAME: show.name}
    if present(show.date):
        event[DATE] = show.date
    return event
