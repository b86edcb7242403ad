"""What the admin's Apply would change on the fleet: the index's showcases.yml (as intake
renders it) against `deployed-showcases.yml` (what the last successful roll-out left).

The Rails admin page (`admin#apply`) shows the same: events added or changed, events removed,
and sites moving region. Pure: it takes the two documents as YAML loads them (keys written
`:name:` load as ":name"); no file, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from showcase_common.index import SINGLE_SHOWCASE_KEY

LONE_KEY = SINGLE_SHOWCASE_KEY
"""A location's only showcase of a year has no `:events:`: it is the event keyed `showcase`."""

Key = tuple[int, str, str]
"""(year, location key, event key): what an event is, whatever its name or date."""


@dataclass(frozen=True, order=True)
class Event:
    year: int
    location: str
    key: str
    name: str
    date: str | None = None

    @property
    def ident(self) -> Key:
        return (self.year, self.location, self.key)


@dataclass(frozen=True)
class Change:
    before: Event
    after: Event

    @property
    def fields(self) -> list[str]:
        """What changed, in words ("name", "date")."""
        return [f for f in ("name", "date") if getattr(self.before, f) != getattr(self.after, f)]


@dataclass(frozen=True)
class Move:
    location: str
    name: str
    from_region: str | None
    to_region: str | None


@dataclass(frozen=True)
class ApplyDiff:
    added: tuple[Event, ...] = ()
    changed: tuple[Change, ...] = ()
    removed: tuple[Event, ...] = ()
    moved: tuple[Move, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.moved)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "moved": len(self.moved),
        }


def load(text: str | None) -> Mapping[Any, Any]:
    """A showcases.yml's text as a document; none (no file yet) or empty is an empty one."""
    document = yaml.safe_load(text) if text else None
    return document if isinstance(document, Mapping) else {}


def diff(index: Mapping[Any, Any], deployed: Mapping[Any, Any]) -> ApplyDiff:
    """What rolling `index` out would change on a fleet that serves `deployed`."""
    now, before = events_of(index), events_of(deployed)
    return ApplyDiff(
        added=tuple(sorted(now[k] for k in now.keys() - before.keys())),
        changed=tuple(
            Change(before[k], now[k])
            for k in sorted(now.keys() & before.keys())
            if now[k] != before[k]
        ),
        removed=tuple(sorted(before[k] for k in before.keys() - now.keys())),
        moved=_moves(regions_of(index), regions_of(deployed)),
    )


def events_of(document: Mapping[Any, Any]) -> dict[Key, Event]:
    """Every event of the document by what it is."""
    found: dict[Key, Event] = {}
    for year, locations in _years(document):
        for location, entry in _items(locations):
            fields = _fields(entry)
            events = fields.get("events")
            if isinstance(events, Mapping):
                for key, event in events.items():
                    detail = _fields(event)
                    name, date = _text(detail.get("name")), _date(detail)
                    found[(year, str(location), str(key))] = Event(
                        year, str(location), str(key), name, date
                    )
            else:  # a lone showcase: the location's name, the entry's date
                name, date = _text(fields.get("name")), _date(fields)
                found[(year, str(location), LONE_KEY)] = Event(
                    year, str(location), LONE_KEY, name, date
                )
    return found


def regions_of(document: Mapping[Any, Any]) -> dict[str, tuple[str, str | None]]:
    """Each location's (name, region) in its newest year (a site's region is the same in every
    year of one document)."""
    found: dict[str, tuple[str, str | None]] = {}
    for _year, locations in _years(document):
        for location, entry in _items(locations):
            fields = _fields(entry)
            region = fields.get("region")
            found[str(location)] = (
                _text(fields.get("name")),
                None if region is None else str(region),
            )
    return found


def _moves(
    now: dict[str, tuple[str, str | None]], before: dict[str, tuple[str, str | None]]
) -> tuple[Move, ...]:
    return tuple(
        Move(location, now[location][0], before[location][1], now[location][1])
        for location in sorted(now.keys() & before.keys())
        if now[location][1] != before[location][1]
    )


def _years(document: Mapping[Any, Any]) -> list[tuple[int, Any]]:
    """The document's years, oldest first; a key that is not a year is not an event's."""
    years = [(year, v) for k, v in _items(document) if (year := _year(k)) is not None]
    return sorted(years, key=lambda item: item[0])


def _year(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _items(value: object) -> list[tuple[Any, Any]]:
    return list(value.items()) if isinstance(value, Mapping) else []


def _fields(entry: object) -> dict[str, Any]:
    """An entry's fields by plain name: `:name:` loads as ":name" (a Ruby symbol key)."""
    return {str(k).removeprefix(":"): v for k, v in _items(entry)}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _date(fields: Mapping[str, Any]) -> str | None:
    date = fields.get("date")
    return None if date is None else str(date)
