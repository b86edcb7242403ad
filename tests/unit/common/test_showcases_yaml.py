import datetime as dt

import yaml
from showcase_common.index.models import Location, Showcase
from showcase_common.index.showcases_yaml import build, format_date, render

BOSTON = Location(
    id=1, key="boston", name="Boston", region="iad", locale="en_US", logo="boston.png"
)
RALEIGH = Location(id=2, key="raleigh", name="Raleigh", region="iad")


def _show(id_: int, loc: Location, key: str, name: str, order: int, day: int | None) -> Showcase:
    start = dt.date(2026, 4, day) if day else None
    return Showcase(
        id=id_, location_id=loc.id, year=2026, key=key, name=name, order=order, start_date=start
    )


def test_a_single_showcase_keyed_showcase_is_a_date_on_the_location() -> None:
    doc = build([BOSTON, RALEIGH], [_show(1, RALEIGH, "showcase", "Raleigh Showcase", 1, 12)])
    assert doc == {2026: {"raleigh": {"name": "Raleigh", "region": "iad", "date": "2026-04-12"}}}


def test_several_showcases_are_events_in_order_with_locale_and_logo() -> None:
    shows = [
        _show(2, BOSTON, "fall", "Fall Ball", 2, 20),
        _show(1, BOSTON, "spring", "Spring Gala", 1, None),
    ]
    entry = build([BOSTON], shows)[2026]["boston"]
    assert entry["locale"] == "en_US" and entry["logo"] == "boston.png"
    assert list(entry["events"]) == ["spring", "fall"]
    assert entry["events"]["fall"] == {"name": "Fall Ball", "date": "2026-04-20"}
    assert entry["events"]["spring"]["date"] is None


def test_a_showcase_of_several_days_shows_its_range() -> None:
    assert format_date(dt.date(2026, 4, 12), dt.date(2026, 4, 13)) == "2026-04-12 - 2026-04-13"
    assert format_date(dt.date(2026, 4, 12), dt.date(2026, 4, 12)) == "2026-04-12"


def test_rendering_is_stable_and_parses_back() -> None:
    shows = [
        _show(1, BOSTON, "spring", "Spring Gala", 1, 12),
        _show(3, RALEIGH, "showcase", "R", 1, 1),
    ]
    text = render([BOSTON, RALEIGH], shows)
    assert text == render([RALEIGH, BOSTON], list(reversed(shows)))
    assert yaml.safe_load(text)[2026]["boston"]["events"]["spring"]["name"] == "Spring Gala"
