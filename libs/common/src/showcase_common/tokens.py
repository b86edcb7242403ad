"""Signed, expiring progress tokens (JWT, HS256).

Intake issues one per request page; the progress gateway accepts only tokens it can verify,
bound to a user and to the request ids that user may watch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import jwt

_ALGORITHM = "HS256"
_AUDIENCE = "progress"


class InvalidToken(Exception):
    """The token is missing, forged, expired or malformed."""


class TokenExpired(InvalidToken):
    """The token was valid once: the page should fetch a fresh one, not give up."""


@dataclass(frozen=True)
class ProgressGrant:
    user: str
    request_ids: frozenset[str]
    expires_at: dt.datetime


def issue_token(
    secret: str, user: str, request_ids: list[str], ttl: dt.timedelta = dt.timedelta(hours=2)
) -> str:
    """A token that lets `user` watch `request_ids` until `ttl` has passed."""
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": user,
        "rids": sorted(request_ids),
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_token(secret: str, token: str | None) -> ProgressGrant:
    """The grant a valid token carries; `InvalidToken` for anything else."""
    if not token:
        raise InvalidToken("missing token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired(str(exc)) from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    rids = claims.get("rids")
    if not isinstance(rids, list) or not all(isinstance(r, str) for r in rids):
        raise InvalidToken("token names no requests")
    return ProgressGrant(
        user=str(claims["sub"]),
        request_ids=frozenset(rids),
        expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
    )
