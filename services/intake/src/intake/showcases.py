"""The showcase rules, shared by the HTML form and the JSON API.

`validate` turns raw input into a `ValidShowcase` or a per-field error map; it reads the index
(`submissions.IndexRows`, on the writer's batch) only to resolve the location and check uniqueness, and never writes. The Rails `showcases` table
has no unique index, so the uniqueness of name and key per (location, year) is this check, run
in the write transaction that inserts the row (`Database.writing` begins it IMMEDIATE).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from showcase_common.index import (
    Location,
    Region,
    Showcase,
    is_lone_showcase,
    page_path,
    region_for,
    served_regions,
)
from sqlalchemy import func
from sqlmodel import Session, select

if TYPE_CHECKING:
    from intake.submissions import IndexRows

NAME_MAX = 120
KEY_MAX = 64
RETURN_TO_MAX = 500
YEAR_MIN, YEAR_MAX = 2000, 2100
KEY_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The same rules as JSON Schema patterns, for the OpenAPI document (blank allowed: optional).
KEY_SCHEMA_PATTERN = r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$"
NAME_SCHEMA_PATTERN = r"\S"
"""Not blank (the length bound is on the stripped name)."""
RETURN_TO_SCHEMA_PATTERN = r"^(?:/(?:[^/\\][^\\]*)?)?$"
"""`safe_return_to` but for its printable-characters rule; blank allowed."""
FIELDS = ("name", "location_id", "key", "year", "start_date", "end_date", "return_to")


@dataclass
class Draft:
    """The input as given (strings from the form, typed values from JSON)."""

    name: str = ""
    location_id: int | str | None = None
    key: str | None = None
    year: int | str | None = None
    start_date: str | None = None
    end_date: str | None = None
    return_to: str | None = None
    from_form: bool = False
    """Sent by a studio's form: the forms' stricter rules apply (`Rules.strict`)."""


@dataclass
class ValidShowcase:
    location: Location
    name: str
    key: str
    year: int
    start_date: dt.date | None
    end_date: dt.date | None
    return_to: str | None


@dataclass
class Invalid(Exception):
    """The input is refused (422, as the contract says), with a message per field. `reason`
    says why: `invalid` the input itself is wrong (a field, or how fields go together);
    `unknown_location` or `taken` (the name or key is used in that location and year) are
    business refusals of well-formed input, named so in the answer (each error's `type`).
    Input wrong in several ways is `invalid`, naming every field."""

    errors: dict[str, str] = field(default_factory=dict)
    reason: Literal["invalid", "unknown_location", "taken"] = "invalid"


def blank_or(schema: dict[str, object]) -> dict[str, object]:
    """A JSON schema for a string field that may also be blank (the form sends "")."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def derive_key(name: str) -> str:
    """Lower case, the part before the first comma, runs of anything but a-z0-9 turned into '-'.

    Leading and trailing dashes are dropped ("Spring Gala!" → "spring-gala").
    """
    head = name.lower().split(",", 1)[0]
    return re.sub(r"[^a-z0-9]+", "-", head).strip("-")


def safe_return_to(value: str) -> bool:
    """A same-site path only: "/x" but not "//host", "/\\host", "http:…" or control characters."""
    if not value.startswith("/") or value.startswith(("//", "/\\")) or len(value) > RETURN_TO_MAX:
        return False
    return all(ch.isprintable() and ch != "\\" for ch in value)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _int(value: int | str, label: str) -> int:
    if isinstance(value, int):
        return value
    text = value.strip()
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise ValueError(f"{label} must be a whole number")
    return int(text)


def _date(value: str) -> dt.date:
    text = value.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValueError("must be a date like 2026-04-12")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a valid date") from None


def _name(draft: Draft, errors: dict[str, str]) -> str:
    name = unicodedata.normalize("NFC", draft.name or "").strip()
    if not name:
        errors["name"] = "can't be blank"
    elif len(name) > NAME_MAX:
        errors["name"] = f"is too long (at most {NAME_MAX} characters)"
    elif not all(ch.isprintable() for ch in name):
        errors["name"] = "must not contain control characters"
    return name


def _key(draft: Draft, name: str, errors: dict[str, str]) -> str:
    given = not _blank(draft.key)
    key = (draft.key or "").strip() if given else derive_key(name)
    if not given and "name" in errors:
        return key
    if not key:
        errors["key"] = "can't be derived from the name; please enter one"
    elif len(key) > KEY_MAX:
        errors["key"] = f"is too long (at most {KEY_MAX} characters)"
    elif not KEY_PATTERN.match(key):
        errors["key"] = "may contain only a-z, 0-9 and single dashes between them"
    return key


def _dates(draft: Draft, errors: dict[str, str]) -> tuple[dt.date | None, dt.date | None]:
    dates: dict[str, dt.date | None] = {"start_date": None, "end_date": None}
    for name in dates:
        raw = getattr(draft, name)
        if not _blank(raw):
            try:
                dates[name] = _date(raw)
            except ValueError as exc:
                errors[name] = str(exc)
    start, end = dates["start_date"], dates["end_date"]
    if end is not None and start is None and "start_date" not in errors:
        errors["end_date"] = "needs a start date"
    elif start is not None and end is not None and end < start:
        errors["end_date"] = "must not be before the start date"
    return start, end


def _year(
    draft: Draft, start: dt.date | None, today: dt.date, rules: Rules, errors: dict[str, str]
) -> int:
    """The year given, else the start date's. Only an admin may give neither (old rows have no
    date); a studio's year must be its start date's."""
    admin = rules.admin
    if rules.strict and not admin and start is None and "start_date" not in errors:
        errors["start_date"] = "can't be blank"  # as the Rails form requires
    if _blank(draft.year):
        if start is not None:
            return start.year
        if not rules.strict:  # the JSON API's contract: both optional, the current year
            return today.year
        if admin and "start_date" not in errors:
            errors["year"] = "can't be blank without a start date"
        return 0
    try:
        year = _int(draft.year, "year")  # type: ignore[arg-type]  # not _blank: not None
    except ValueError as exc:
        errors["year"] = str(exc)
        return 0
    if not YEAR_MIN <= year <= YEAR_MAX:
        errors["year"] = f"must be between {YEAR_MIN} and {YEAR_MAX}"
    elif rules.strict and start is not None and start.year != year and not admin:
        errors["year"] = f"must be the start date's year ({start.year}), or left blank"
    return year


def _not_past(start: dt.date | None, today: dt.date, rules: Rules, errors: dict[str, str]) -> None:
    """A studio asks for an event to come; an admin may record one that is over."""
    if not rules.strict or rules.admin:
        return
    if start is not None and start < today and "start_date" not in errors:
        errors["start_date"] = f"is in the past (today is {today.isoformat()})"


def _location(
    index: IndexRows, draft: Draft, errors: dict[str, str], unknown: dict[str, str]
) -> Location | None:
    if _blank(draft.location_id):
        errors["location_id"] = "can't be blank"
        return None
    try:
        location_id = _int(draft.location_id, "location")  # type: ignore[arg-type]  # not _blank: not None
    except ValueError as exc:
        errors["location_id"] = str(exc)
        return None
    location = index.location(location_id) if 0 < location_id <= 2**62 else None
    if location is None:
        unknown["location_id"] = "is not a known location"
    return location


def _unique(
    index: IndexRows, location: Location, year: int, name: str, key: str, key_given: bool
) -> dict[str, str]:
    """A duplicate, told once, on the field the user typed: the key when they typed one that is
    taken, otherwise the name (a derived key is the name's doing: "spring gala" gives the key of
    "Spring Gala"). The location by its name."""
    same_place = list(index.clashes(location, year, name, key))
    where = f"{location.name or location.key} in {year}"
    for other_name, _other_key in same_place:
        if other_name == name:
            return {"name": f"is already used by another showcase of {where}"}
    for other_name, other_key in same_place:
        if other_key == key:
            if key_given:
                return {"key": f"is already used by “{other_name}” of {where}"}
            return {
                "name": f"gives the same address as “{other_name}” of {where}: choose "
                "another name, or another address under Advanced"
            }
    return {}


@dataclass(frozen=True)
class Rules:
    """Who asks, and through which door: `admin` administers the index; `strict` is the
    studio's forms (the Rails form's rules), not the JSON API, whose fields the contract keeps
    optional (no start date: the year given, else the current one)."""

    admin: bool = False
    strict: bool = False


def validate(
    index: IndexRows, draft: Draft, today: dt.date, rules: Rules = Rules()
) -> ValidShowcase:
    """The showcase to create, or `Invalid` naming every field that is wrong. Rules (the forms;
    marked * the JSON API too):
    - * a name (at most NAME_MAX printable characters), unique in its location and year;
    - * a key of a-z, 0-9 and single dashes, derived from the name when blank, unique too;
    - a start date, except for an admin, who then gives the year; * the end date, when given,
      not before the start (blank: the event is one day);
    - the year, when given, the start date's (an admin may differ); * between YEAR_MIN and
      YEAR_MAX;
    - a start date not in the past, except for an admin;
    - * a duplicate is told once, on the field the user typed, naming the location by name.
    """
    errors: dict[str, str] = {}
    name = _name(draft, errors)
    key = _key(draft, name, errors)
    start, end = _dates(draft, errors)
    year = _year(draft, start, today, rules, errors)
    _not_past(start, today, rules, errors)
    unknown: dict[str, str] = {}
    location = _location(index, draft, errors, unknown)
    return_to = None if _blank(draft.return_to) else (draft.return_to or "").strip()
    if return_to is not None and not safe_return_to(return_to):
        errors["return_to"] = "must be a path on this site"
    taken: dict[str, str] = {}
    if location is not None and year and not {"name", "key", "year"} & errors.keys():
        taken = _unique(index, location, year, name, key, not _blank(draft.key))
    if errors:
        raise Invalid(errors | unknown | taken)
    if unknown:
        raise Invalid(unknown, "unknown_location")
    if taken:
        raise Invalid(taken, "taken")
    assert location is not None
    return ValidShowcase(location, name, key, year, start, end, return_to)


def find_location(index: IndexRows, draft: Draft) -> Location | None:
    """The location the draft names, if it names a known one (no error reporting)."""
    try:
        location_id = _int(draft.location_id, "location")  # type: ignore[arg-type]  # not _blank: not None
    except (ValueError, AttributeError, TypeError):
        return None
    # In SQLite's integer range only: a query with anything beyond it fails (an overflow).
    return index.location(location_id) if 0 < location_id <= 2**62 else None


def fleet_page_path(session: Session, showcase: Showcase, location: Location) -> str:
    """The showcase's page on the fleet, by the fleet's rule: a location's only showcase of a
    year keyed `showcase` is at the location's year URL."""
    same_year = select(func.count()).where(
        Showcase.location_id == location.id, Showcase.year == showcase.year
    )
    lone = is_lone_showcase(showcase.key or "", session.exec(same_year).one())
    return page_path(showcase.year or 0, location.key or "", showcase.key or "", lone=lone)


def fleet_region(session: Session, location: Location) -> str | None:
    """The served region whose machines serve the location's pages (showcases.yml's
    `:region:`); None: every machine serves them."""
    return region_for(location, served_regions(session.exec(select(Region))))
