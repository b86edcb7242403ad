"""CSRF protection for the HTML form.

The form carries a token signed for the logged-in user. Browsers send Basic credentials on
cross-site requests by themselves, so a POST without a valid token is accepted only when the
browser says it is not cross-site (Origin / Sec-Fetch-Site) or it comes from a non-browser client
(which sends neither header and cannot be driven by another site).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from intake.security import Signer

TOKEN_MAX_AGE_S = 12 * 3600


def form_allowed(http: Request, signer: Signer, login: str, token: object) -> bool:
    if isinstance(token, str) and token:
        return signer.unsign(token, TOKEN_MAX_AGE_S) == login
    fetch_site = http.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = http.headers.get("origin")
    if origin is not None:
        return urlsplit(origin).netloc == http.headers.get("host")
    return True
