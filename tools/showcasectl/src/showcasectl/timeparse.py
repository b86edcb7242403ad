"""`--since` values: an ISO time or date, or an age like 30m, 2h, 1d."""

from __future__ import annotations

import datetime as dt
import re

_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str, now: dt.datetime | None = None) -> dt.datetime:
    """An aware UTC datetime; `ValueError` with a readable message on anything else."""
    now = now or dt.datetime.now(dt.UTC)
    text = value.strip()
    if match := _AGE.match(text):
        return now - dt.timedelta(seconds=float(match[1]) * _UNIT_S[match[2]])
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a time (2026-11-29T08:00, 2026-11-29) nor an age (30m, 2h, 1d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
