"""Which URLs a studio's browser may be sent to: http(s) on the pipeline's own public origins.

`redirect_url` and `retry_url` reach the progress page, which navigates to (or posts to) them; a
`javascript:` or `data:` URL, or one on somebody else's site, must never get that far.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# Browsers read a backslash as a slash and drop tabs and newlines; Python does not, so such a URL
# could name one host here and another in the browser: refuse it outright.
_AMBIGUOUS = re.compile(r"[\\\s\x00-\x1f\x7f]")


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of `url`, lower case, default port left out ("" when none)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    shown = f":{port}" if port is not None and port != _DEFAULT_PORTS.get(parts.scheme) else ""
    return f"{parts.scheme}://{parts.hostname}{shown}"


def allowed_url(url: str | None, origins: Iterable[str]) -> str | None:
    """`url` if it is http(s), unambiguous, without credentials, and on one of `origins` (URLs or
    origins); otherwise None."""
    if not url or _AMBIGUOUS.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return None
    allowed = {origin_of(o) for o in origins} - {""}
    return url if origin_of(url) in allowed else None
