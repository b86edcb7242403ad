"""The new showcases' pages: where each is (the fleet's URL rule) and which region serves it.

The agent checks these pages itself right after an update and reports how each answered in its
update's answer (`"pages"`), so the updater need not ask each machine for them (one round trip
per page saved); the updater judges the answers by its own region rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from showcase_common.index import (
    LocationRow,
    is_lone_showcase,
    page_path,
    region_for,
    served_regions,
)
from showcase_common.replay import PageAnswer

from machine_agent.index_data import IndexData


class NotInSnapshot(LookupError):
    """A showcase the roll-out names is not in the snapshot."""


def new_pages(index: IndexData, showcase_ids: Sequence[int]) -> list[str]:
    """The page paths of these showcases in `index`, by the fleet's rule (a lone `showcase`
    is at its location's year URL). A showcase the snapshot does not hold is an error."""
    return [path for path, _ in _new_showcases(index, showcase_ids)]


def new_page_regions(
    index: IndexData, showcase_ids: Sequence[int], served_codes: Sequence[str] | None = None
) -> dict[str, str | None]:
    """Each new page's path → the served region whose machines serve it (showcases.yml's
    `:region:` of its location; None: every machine)."""
    served = served_regions(index.regions, served_codes)
    return {
        path: region_for(location, served) for path, location in _new_showcases(index, showcase_ids)
    }


def reported(answers: dict[str, PageAnswer]) -> dict[str, dict[str, object]]:
    """The answers as the update's JSON answer carries them."""
    return {
        path: {"status": answer.status, "replay_region": answer.replay_region}
        for path, answer in answers.items()
    }


def _new_showcases(index: IndexData, showcase_ids: Sequence[int]) -> list[tuple[str, LocationRow]]:
    locations = {loc.id: loc for loc in index.locations}
    per_year: dict[tuple[int, int | None], int] = {}
    for listed in index.showcases:
        key = (listed.location_id, listed.year)
        per_year[key] = per_year.get(key, 0) + 1
    by_id = {show.id: show for show in index.showcases}
    pages = []
    for showcase_id in sorted(set(showcase_ids)):
        show = by_id.get(showcase_id)
        location = locations.get(show.location_id) if show else None
        if show is None or location is None or show.year is None:
            raise NotInSnapshot(f"showcase {showcase_id} is not in this snapshot")
        lone = is_lone_showcase(show.key or "", per_year[(show.location_id, show.year)])
        pages.append(
            (page_path(show.year, location.key or "", show.key or "", lone=lone), location)
        )
    return pages
