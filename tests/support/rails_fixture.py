"""A realistic Rails index, built deterministically from a seed (for tests and benches).

    rows = rails_rows(seed=10)          # RailsRows: locations, showcases, users, regions
    write_rails_index(path, rows)       # the Rails-shaped index.sqlite3 (create_rails_index)
    rows = build_rails_index(path)      # both at once

The shape follows production (../shared/RAILS_INDEX.md): about 80 locations (regions served or
not or NULL, locales en_US/en_AU/es_ES/fr_CA/empty/NULL, the default logo, empty and real logos,
owners, sisters), about 370 showcases over five years (lone `showcase` locations, multi-event
ones, dates `START`, `START - END`, same-day ranges, empty, NULL and free-form `2025`/`11-11-23`,
names that YAML must quote or fold), a few hundred users with htpasswd lines (some NULL), and a
`regions` table of Fly regions plus one row of another type. `KNOWN_LOGINS` are users whose
password lines are real hashes of known passwords.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from showcase_common.index import Location, Region, Showcase, User, create_rails_index
from showcase_common.index.dates import format_date

FIRST_YEAR, LAST_YEAR = 2022, 2026
CREATED = dt.datetime(2022, 1, 3, 9, 30, tzinfo=dt.UTC)

KNOWN_LOGINS: dict[str, tuple[str, str]] = {
    # userid: (password, the `users.password` line: `htpasswd -n` output, each a real hash)
    "admin": ("admin", "admin:$apr1$Q1w2E3r4$40uTKgj9X65jnUxs6n9rs/"),
    "studio": ("studio", "studio:$apr1$aB3dE5fG$sthUN8Mil.9pn1/andAQV1"),
    "alice": ("alice-pass", "alice:$apr1$Zy9Xw8Vu$YlwZjIPpqc1GDqZGES909."),
    "bob": ("bob-pass", "bob:$apr1$Mn7Lk6Jh$81CGklWDpgfw0CGX2ySBB1"),
    # PHP's documented bcrypt example (password_verify)
    "rasmus": (
        "rasmuslerdorf",
        "rasmus:$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
    ),
    "carol": (
        "carol-pass",
        "carol:{SHA}" + base64.b64encode(hashlib.sha1(b"carol-pass").digest()).decode(),
    ),
}
"""Users whose login works (admin has `index` in `sites`; studio owns the first location)."""

FLY_REGIONS: tuple[tuple[str, str, float, float], ...] = (
    ("iad", "Ashburn, Virginia (US)", 39.0438, -77.4874),
    ("ord", "Chicago, Illinois (US)", 41.8781, -87.6298),
    ("sjc", "San Jose, California (US)", 37.3382, -121.8863),
    ("ewr", "Secaucus, NJ (US)", 40.7895, -74.0565),
    ("dfw", "Dallas, Texas (US)", 32.7767, -96.7970),
    ("lax", "Los Angeles, California (US)", 34.0522, -118.2437),
    ("syd", "Sydney, Australia", -33.8688, 151.2093),
    ("mad", "Madrid, Spain", 40.4168, -3.7038),
    ("yyz", "Toronto, Canada", 43.6532, -79.3832),
)
OTHER_REGION = ("fra", "Frankfurt, Germany", 50.1109, 8.6821)
"""A `regions` row of another type (`aws`): never a served region by default."""

# city, latitude, longitude, locale, a region code that is not served (None: use the nearest)
CITIES: tuple[tuple[str, float, float, str | None, str | None], ...] = (
    ("Boston", 42.3601, -71.0589, "en_US", "bos"),
    ("Raleigh", 35.7796, -78.6382, "en_US", None),
    ("Atlanta", 33.7490, -84.3880, "en_US", "atl"),
    ("Miami", 25.7617, -80.1918, "en_US", "mia"),
    ("Denver", 39.7392, -104.9903, "en_US", "den"),
    ("Seattle", 47.6062, -122.3321, "en_US", "sea"),
    ("Phoenix", 33.4484, -112.0740, "en_US", None),
    ("Austin", 30.2672, -97.7431, "en_US", None),
    ("Nashville", 36.1627, -86.7816, "en_US", None),
    ("Portland", 45.5152, -122.6784, "en_US", None),
    ("St. Louis", 38.6270, -90.1994, "en_US", None),
    ("Minneapolis", 44.9778, -93.2650, "en_US", None),
    ("Harrisburg", 40.2732, -76.8867, "en_US", None),
    ("Columbus", 39.9612, -82.9988, "en_US", None),
    ("Sydney", -33.8688, 151.2093, "en_AU", None),
    ("Melbourne", -37.8136, 144.9631, "en_AU", "mel"),
    ("Brisbane", -27.4698, 153.0251, "en_AU", None),
    ("Madrid", 40.4168, -3.7038, "es_ES", None),
    ("Barcelona", 41.3874, 2.1686, "es_ES", "bcn"),
    ("Montréal", 45.5019, -73.5674, "fr_CA", "yul"),
    ("Québec", 46.8139, -71.2080, "fr_CA", None),
    ("Toronto", 43.6532, -79.3832, "en_US", None),
)

EVENT_NAMES = (
    "Spring Showcase",
    "Winter Ball",
    "Summer Spectacular",
    "Fall Festival",
    "Holiday Gala",
    "Valentine's Showcase",
    "Café Noël",
    "Showcase: Summer Nights",
    "Yes!",
    "2025",
    "On",
    "null",
    "#1 Dance Party",
    "Dance-O-Rama",
    "Stars of Tomorrow",
    "@Home Showcase",
    "Grand Showcase of the Year, with a name long enough that YAML folds it over two lines",
    "Medal Ball",
    "Snow Ball",
    "Boogie Nights",
    "New Year's Eve Gala",
    'Cha-Cha "Live"',
)


@dataclass
class RailsRows:
    """The rows of a fixture index, with their ids (models of `showcase_common.index`)."""

    locations: list[Location] = field(default_factory=list)
    showcases: list[Showcase] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)


def rails_rows(seed: int = 10, *, locations: int = 80, users: int = 300) -> RailsRows:
    """The fixture's rows: the same for the same seed and sizes."""
    rng = random.Random(seed)
    rows = RailsRows(regions=fixture_regions(), users=_users(rng, users))
    rows.locations = _locations(rng, locations, rows.users)
    rows.showcases = _showcases(rng, rows.locations)
    return rows


def write_rails_index(path: Path, rows: RailsRows) -> Path:
    """A Rails-shaped index at `path` (replaced) holding `rows`."""
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # a fixture, not a database to keep
        create_rails_index(conn)
        for table, models in (
            ("regions", rows.regions),
            ("users", rows.users),
            ("locations", rows.locations),
            ("showcases", rows.showcases),
        ):
            _insert(conn, table, models)
        conn.commit()
    finally:
        conn.close()
    return path


def build_rails_index(path: Path, seed: int = 10, **sizes: int) -> RailsRows:
    rows = rails_rows(seed, **sizes)
    write_rails_index(path, rows)
    return rows


def rails_timestamp(value: dt.datetime) -> str:
    """`datetime(6)` as Rails stores it: UTC `YYYY-MM-DD HH:MM:SS.ffffff`."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _insert(
    conn: sqlite3.Connection,
    table: str,
    models: list[Location] | list[Showcase] | list[User] | list[Region],
) -> None:
    for model in models:
        values = model.model_dump()
        values["created_at"] = rails_timestamp(values["created_at"])
        values["updated_at"] = rails_timestamp(values["updated_at"])
        columns = ", ".join(f'"{name}"' for name in values)
        marks = ", ".join("?" for _ in values)
        conn.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', list(values.values()))


def _stamp(rng: random.Random) -> dict[str, Any]:
    created = CREATED + dt.timedelta(
        seconds=rng.randrange(4 * 365 * 86400), microseconds=rng.randrange(10**6)
    )
    return {"created_at": created, "updated_at": created}


def fixture_regions() -> list[Region]:
    """The `regions` rows: the Fly regions (`FLY_REGIONS`), then one row of type `aws`."""
    rows = [
        Region(
            id=i,
            type="fly",
            code=c,
            location=n,
            latitude=la,
            longitude=lo,
            created_at=CREATED,
            updated_at=CREATED,
        )
        for i, (c, n, la, lo) in enumerate(FLY_REGIONS, 1)
    ]
    code, name, lat, lon = OTHER_REGION
    rows.append(
        Region(
            id=len(rows) + 1,
            type="aws",
            code=code,
            location=name,
            latitude=lat,
            longitude=lon,
            created_at=CREATED,
            updated_at=CREATED,
        )
    )
    return rows


def _users(rng: random.Random, count: int) -> list[User]:
    users: list[User] = []
    for userid, (_, line) in KNOWN_LOGINS.items():
        users.append(User(id=len(users) + 1, userid=userid, password=line, **_stamp(rng)))
    while len(users) < count:
        n = len(users) + 1
        userid = f"user{n:03d}"
        users.append(
            User(
                id=n,
                userid=userid,
                password=_fake_line(rng, userid),
                email=f"{userid}@example.com",
                name1=f"First{n}",
                name2=rng.choice([None, "", f"Second{n}"]),
                **_stamp(rng),
            )
        )
    users[0].sites = "index"
    return users


def _fake_line(rng: random.Random, userid: str) -> str | None:
    """An htpasswd line the agent only copies (not a real hash), or NULL (no login)."""
    alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.18:
        return f"{userid}:$2y$05$" + "".join(rng.choice(alphabet) for _ in range(53))
    if roll < 0.22:
        return f"{userid}:{{SHA}}" + base64.b64encode(rng.randbytes(20)).decode()
    salt = "".join(rng.choice(alphabet) for _ in range(8))
    return f"{userid}:$apr1${salt}$" + "".join(rng.choice(alphabet) for _ in range(22))


def _locations(rng: random.Random, count: int, users: list[User]) -> list[Location]:
    served = {code for code, *_ in FLY_REGIONS}
    locations: list[Location] = []
    for i in range(count):
        city, lat, lon, locale, unserved = CITIES[i % len(CITIES)]
        name = f"{city}{_suffix(i // len(CITIES))}"
        region = _region(rng, lat, lon, unserved, served)
        locations.append(
            Location(
                id=i + 1,
                key=_key(name),
                name=name,
                logo=rng.choice(
                    [
                        "arthur-murray-logo.gif",
                        "arthur-murray-logo.gif",
                        "",
                        None,
                        f"{_key(name)}-logo.png",
                    ]
                ),
                latitude=None if i % 29 == 28 else round(lat + rng.uniform(-0.3, 0.3), 4),
                longitude=None if i % 29 == 28 else round(lon + rng.uniform(-0.3, 0.3), 4),
                user_id=_owner(i, users),
                region=region,
                locale=rng.choice([locale, locale, locale, "", None]) if i % 7 == 3 else locale,
                trust_level=rng.choice([0, 0, 25, 50]),
                **_stamp(rng),
            )
        )
    for location in locations[1::9]:  # some owners may also act for a sister location
        location.sisters = ", ".join(
            rng.choice(locations).name or "" for _ in range(rng.randint(1, 2))
        )
    _grant_sites(rng, users, locations)
    return locations


def _suffix(round_: int) -> str:
    """What tells the `round_`-th location of a city from the others: nothing for the first,
    then North, South, East, West, then numbered (a bigger fixture keeps every key unique)."""
    if round_ == 0:
        return ""
    direction = ("North", "South", "East", "West")[round_ % 4]
    again = (round_ - 1) // 4
    return f" {direction}" + (f" {again + 1}" if again else "")


def _region(
    rng: random.Random, lat: float, lon: float, unserved: str | None, served: set[str]
) -> str | None:
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.12:
        return ""
    if unserved is not None and roll < 0.6:
        return unserved
    nearest = min(FLY_REGIONS, key=lambda r: (r[2] - lat) ** 2 + (r[3] - lon) ** 2)
    return nearest[0] if roll < 0.9 else rng.choice(sorted(served))


def _owner(index: int, users: list[User]) -> int | None:
    if index == 0:
        return 2  # `studio` owns the first location
    if index % 11 == 10:
        return None
    return users[6 + index % (len(users) - 6)].id


def _grant_sites(rng: random.Random, users: list[User], locations: list[Location]) -> None:
    owned: dict[int, list[str]] = {}
    for location in locations:
        if location.user_id is not None:
            owned.setdefault(location.user_id, []).append(location.name or "")
    for user in users[1:]:
        names = owned.get(user.id or 0, [])
        user.sites = (
            ",".join(names) if names else rng.choice([None, "", rng.choice(locations).name])
        )
    users[2].sites = "index"  # a second admin


def _showcases(rng: random.Random, locations: list[Location]) -> list[Showcase]:
    showcases: list[Showcase] = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        for location in locations:
            for key, name in _year_events(rng, location, year):
                stamp = _stamp(rng)
                showcases.append(
                    Showcase(
                        id=len(showcases) + 1,
                        year=year,
                        key=key,
                        name=name,
                        location_id=location.id or 0,
                        order=len(showcases) + 1,
                        date=_date(rng, year),
                        **stamp,
                    )
                )
    rng.shuffle(showcases)  # ids and orders need not follow years or locations
    for position, show in enumerate(showcases, 1):
        show.order = position
    return sorted(showcases, key=lambda s: s.id or 0)


def _year_events(rng: random.Random, location: Location, year: int) -> list[tuple[str, str]]:
    """A location's events of a year: none, a lone `showcase`, or one to four named events."""
    style = (location.id or 0) % 5
    roll = rng.random()
    if roll < 0.33 or (style == 4 and year < 2025):
        return []
    if style in (0, 1) and roll < 0.95:
        return [("showcase", f"{location.name} Showcase")]
    names = rng.sample(EVENT_NAMES, k=1 if style == 2 else rng.randint(2, 3))
    return [(_key(name) or f"event-{n}", name) for n, name in enumerate(names)]


def _date(rng: random.Random, year: int) -> str | None:
    start = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(360))
    roll = rng.random()
    if roll < 0.40:
        return format_date(start, None)
    if roll < 0.70:
        return format_date(start, start + dt.timedelta(days=rng.randint(1, 3)))
    if roll < 0.78:
        return format_date(start, start)  # a same-day range, as the Rails form writes it
    if roll < 0.84:
        return ""
    if roll < 0.90:
        return None
    if roll < 0.95:
        return str(year)
    return start.strftime("%m-%d-%y")


def _key(name: str) -> str:
    """The key a name gives (lower case, the part before the first comma, `-` between words)."""
    return re.sub(r"[^a-z0-9]+", "-", name.split(",")[0].lower()).strip("-")
