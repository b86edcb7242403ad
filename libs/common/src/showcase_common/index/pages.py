"""Where the fleet serves a showcase's pages (the Rails application's routing rule)."""

from __future__ import annotations

SINGLE_SHOWCASE_KEY = "showcase"
"""A location's only showcase of a year keyed `showcase` is served at the location's year URL."""


def is_lone_showcase(showcase_key: str, keys_that_year: int) -> bool:
    """Whether a showcase is its location's only one of the year, keyed `showcase`."""
    return keys_that_year == 1 and showcase_key == SINGLE_SHOWCASE_KEY


def page_path(year: int, location_key: str, showcase_key: str, *, lone: bool) -> str:
    """`/showcase/{year}/{location}/{showcase}/`, or `/showcase/{year}/{location}/` for a lone
    `showcase` (see `is_lone_showcase`)."""
    if lone and showcase_key == SINGLE_SHOWCASE_KEY:
        return f"/showcase/{year}/{location_key}/"
    return f"/showcase/{year}/{location_key}/{showcase_key}/"
