"""`showcases.date`: free text in the Rails index, `START` or `START - END` when written here."""

from __future__ import annotations

import datetime as dt
import re

_ISO = r"\d{4}-\d{2}-\d{2}"
_RANGE = re.compile(rf"^\s*({_ISO})(?:\s+-\s+({_ISO}))?\s*$")


def format_date(start: dt.date | None, end: dt.date | None) -> str | None:
    """The Rails form's value: `START`, or `START - END` whenever an end is given (even the
    same day); None without a start."""
    if start is None:
        return None
    if end is None:
        return start.isoformat()
    return f"{start.isoformat()} - {end.isoformat()}"


def parse_date(text: str | None) -> tuple[dt.date | None, dt.date | None]:
    """(start, end) of a `date` this pipeline could have written; (None, None) for free-form
    text such as `2025` or `11-11-23`, which is shown as it is and never rewritten."""
    match = _RANGE.match(text or "")
    if match is None:
        return None, None
    try:
        start = dt.date.fromisoformat(match[1])
        end = dt.date.fromisoformat(match[2]) if match[2] else None
    except ValueError:
        return None, None
    return start, end
