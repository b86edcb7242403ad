"""One small case per rule of showcases.yml (../shared/RAILS_INDEX.md), each with its golden
file `golden/<name>.yml`: the bytes Psych writes for the Rails generator's hash (the Ruby test
checks that Ruby loads each golden and dumps the same bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from showcase_common.index import Location, Showcase
from showcase_common.index.regions import ServedRegion

GOLDEN = Path(__file__).parent / "golden"

IAD = ServedRegion("iad", 39.0438, -77.4874)
ORD = ServedRegion("ord", 41.8781, -87.6298)
EWR = ServedRegion("ewr", 40.7895, -74.0565)
SERVED = (EWR, IAD, ORD)


@dataclass
class Case:
    locations: list[Location]
    showcases: list[Showcase]
    served: tuple[ServedRegion, ...] = SERVED


def location(id_: int, key: str, **fields: Any) -> Location:
    fields.setdefault("name", key.title())
    fields.setdefault("region", "iad")
    return Location(id=id_, key=key, **fields)


def show(
    id_: int,
    loc: int,
    key: str,
    *,
    year: int = 2026,
    order: int | None = None,
    date: str | None = "2026-06-20",
    name: str | None = None,
) -> Showcase:
    return Showcase(
        id=id_,
        location_id=loc,
        year=year,
        key=key,
        name=name or key.title(),
        order=id_ if order is None else order,
        date=date,
    )


CASES: dict[str, Case] = {
    # :name:, :region:, :locale:, :logo:, :events: in this order, symbol keys
    "symbol_keys_in_order": Case(
        [location(1, "madrid", name="Madrid Baile", locale="es_ES", logo="madrid.png")],
        [show(1, 1, "spring"), show(2, 1, "fall", date="2026-10-02")],
    ),
    "years_newest_first": Case(
        [location(1, "boston")],
        [
            show(1, 1, "showcase", year=2024, date="2024"),
            show(2, 1, "showcase", year=2026),
            show(3, 1, "showcase", year=2025, date="2025-03-01"),
        ],
    ),
    "locations_ascending": Case(
        [location(1, "zeta"), location(2, "alpha"), location(3, "mid-town")],
        [show(1, 1, "showcase"), show(2, 2, "showcase"), show(3, 3, "showcase")],
    ),
    # a served region is kept; an unserved, NULL or empty one gives the nearest served region
    "region_served_or_nearest": Case(
        [
            location(1, "ashburn", region="iad", latitude=41.9, longitude=-87.6),
            location(2, "boston", region="bos", latitude=42.36, longitude=-71.06),
            location(3, "chicago", region=None, latitude=41.8, longitude=-87.7),
            location(4, "dc", region="", latitude=38.9, longitude=-77.0),
        ],
        [
            show(1, 1, "showcase"),
            show(2, 2, "showcase"),
            show(3, 3, "showcase"),
            show(4, 4, "showcase"),
        ],
    ),
    # no served region and no coordinates: nil, written `:region:` alone
    "region_nil": Case(
        [
            location(1, "nowhere", region="bos"),
            location(2, "unserved", region="ord", latitude=40.0, longitude=-75.0),
        ],
        [show(1, 1, "showcase"), show(2, 2, "showcase")],
        served=(ServedRegion("xyz"),),
    ),
    # equidistant from two served regions: the first in the served order wins
    "region_tie_first": Case(
        [location(1, "middle", region=None, latitude=0.0, longitude=0.0)],
        [show(1, 1, "showcase")],
        served=(ServedRegion("west", 0.0, -10.0), ServedRegion("east", 0.0, 10.0)),
    ),
    # `_` written `-`; en-US, empty and NULL are left out
    "locale": Case(
        [
            location(1, "a-us", locale="en_US"),
            location(2, "b-au", locale="en_AU"),
            location(3, "c-ca", locale="fr_CA"),
            location(4, "d-empty", locale=""),
            location(5, "e-null", locale=None),
            location(6, "f-dashed", locale="en-US"),
            location(7, "g-es", locale="es-ES"),
        ],
        [show(i, i, "showcase") for i in range(1, 8)],
    ),
    # the default logo, empty and NULL are left out
    "logo": Case(
        [
            location(1, "a-default", logo="arthur-murray-logo.gif"),
            location(2, "b-empty", logo=""),
            location(3, "c-null", logo=None),
            location(4, "d-own", logo="d-own.png"),
        ],
        [show(i, i, "showcase") for i in range(1, 5)],
    ),
    # a lone `showcase`: :date: on the location (left out when empty); otherwise :events:
    "lone_showcase": Case(
        [
            location(1, "a-dated"),
            location(2, "b-null-date"),
            location(3, "c-empty-date"),
            location(4, "d-other-key"),
            location(5, "e-showcase-and-more"),
        ],
        [
            show(1, 1, "showcase", date="2026-02-06 - 2026-02-06"),
            show(2, 2, "showcase", date=None),
            show(3, 3, "showcase", date=""),
            show(4, 4, "gala", name="Gala"),
            show(5, 5, "showcase", name="Showcase"),
            show(6, 5, "encore", name="Encore"),
        ],
    ),
    # events in ascending `order` (not id, not key); :date: left out when NULL or empty
    "events_in_order": Case(
        [location(1, "boston")],
        [
            show(1, 1, "zulu", order=30, date="2026-09-01 - 2026-09-03"),
            show(2, 1, "alpha", order=20, date=None),
            show(3, 1, "mike", order=10, date=""),
            show(4, 1, "bravo", order=40, date="11-11-23"),
        ],
    ),
    # strings that would read back as another type are quoted as Psych quotes them
    "psych_quoting": Case(
        [
            location(1, "yes", name="2025", logo="#logo.png", locale="en_GB"),
            location(2, "2025", name="Café Noël « Ünïcode »"),
        ],
        [
            show(1, 1, "no", name="true", date="2025"),
            show(2, 1, "null", name="~", date="2025-06-20"),
            show(3, 1, "y", name='Bob\'s "Big" Night: a gala', date="2025-06-20 - 2025-06-21"),
            show(4, 1, "1-000", name="1,000", date="11-11-23"),
            show(5, 1, "at", name="@Home", date="Jun 20"),
            show(
                6,
                1,
                "long",
                name="A Grand Showcase of the Year, with a name long enough that "
                "YAML folds it over two lines",
            ),
            show(7, 2, "showcase", date="2025-06"),
        ],
    ),
}
