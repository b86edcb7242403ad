"""Signed, expiring progress tokens (JWT, HS256).

Intake issues one per request page; the progress gateway accepts only tokens it can verify,
bound to a user and to the request ids that user may watch.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import functools
import hashlib
import hmac
import json
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
    secret: str,
    user: str,
    request_ids: list[str],
    ttl: dt.timedelta = dt.timedelta(hours=2),
    now: dt.datetime | None = None,
) -> str:
    """A token that lets `user` watch `request_ids` until `ttl` has passed.

    The same bytes `jwt.encode` writes for these claims (header `{"alg":"HS256","typ":"JWT"}`,
    the claims in this order, `iat`/`exp` as whole seconds), signed with the secret's HMAC key
    prepared once per secret: PyJWT checks and prepares the key again on every call (its PEM
    and SSH-key patterns), which was 9 of every 10 microseconds of an accepted POST's token.
    `verify_token` (PyJWT) reads it as any other."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    issued_at = calendar.timegm(moment.utctimetuple())
    claims = {
        "sub": user,
        "rids": sorted(request_ids),
        "aud": _AUDIENCE,
        "iat": issued_at,
        "exp": calendar.timegm((moment + ttl).utctimetuple()),
    }
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _HEADER + b"." + payload
    mac = _signing_key(secret).copy()
    mac.update(signing_input)
    return (signing_input + b"." + _b64(mac.digest())).decode("ascii")


_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
"""PyJWT's header for HS256 (its keys sorted), base64url without padding."""


@functools.lru_cache(maxsize=8)
def _signing_key(secret: str) -> hmac.HMAC:
    """HMAC-SHA256 with `secret`'s inner and outer pads computed; each token signs a copy."""
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


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
