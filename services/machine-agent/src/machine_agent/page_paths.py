"""Which request paths are showcase pages, checked segment by segment.

In sidecar mode the agent forwards page requests to the application beside it, which also
serves everything else (its admin pages among them, normally behind the front proxy's
htpasswd). So only a path that IS a showcase page is forwarded, and the URL forwarded is built
from the checked segments, never from the request's own path:

- the raw request target holds no percent-escape at all (`%2e%2e`, `%2f`, `%5c`: a page URL
  never needs one), so what was checked is what the application would see;
- `/showcase/studios/{location}/`, `/showcase/{year}/{location}/` or
  `/showcase/{year}/{location}/{key}/`, a trailing slash, nothing else;
- a year is four digits, a location or showcase key a plain word (letters, digits, `_`, `-`):
  no dot segment, no separator, no dot at all.
"""

from __future__ import annotations

import re

from starlette.types import Scope

_YEAR = re.compile(r"[0-9]{4}")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
STUDIOS = "studios"


def page_segments(scope: Scope) -> tuple[str, ...] | None:
    """The segments after `/showcase/` when the request is for a showcase page, else None."""
    raw = scope.get("raw_path")
    path: str = scope.get("path", "")
    if raw is not None and (b"%" in raw or b"\\" in raw or raw.decode("latin-1") != path):
        return None
    if not path.startswith("/showcase/") or not path.endswith("/"):
        return None
    segments = tuple(path[len("/showcase/") : -1].split("/"))
    return segments if _is_page(segments) else None


def _is_page(segments: tuple[str, ...]) -> bool:
    match segments:
        case (first, location) if first == STUDIOS:
            return _KEY.fullmatch(location) is not None
        case (year, location):
            return _YEAR.fullmatch(year) is not None and _KEY.fullmatch(location) is not None
        case (year, location, key):
            keys_ok = all(_KEY.fullmatch(k) is not None for k in (location, key))
            return _YEAR.fullmatch(year) is not None and keys_ok
    return False


def page_path(segments: tuple[str, ...]) -> str:
    """The path to forward: rebuilt from checked segments."""
    return "/showcase/" + "".join(f"{segment}/" for segment in segments)
