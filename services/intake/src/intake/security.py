"""Passwords as the Rails application keeps them (htpasswd lines), HTTP Basic verification, and
signed values (CSRF tokens, flashes).

`users.password` holds a whole htpasswd line, `userid:hash`, as `htpasswd -n` prints it: Apache
MD5 (`$apr1$`) by default, bcrypt (`$2y$`) and `{SHA}` too. libpass (the maintained fork of
passlib) identifies and verifies each; anything else, or NULL, is no login.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time

from passlib.context import CryptContext
from passlib.hash import apr_md5_crypt, bcrypt, ldap_sha1

HTPASSWD = CryptContext(schemes=["apr_md5_crypt", "bcrypt", "ldap_sha1"])
"""The schemes `htpasswd` writes that a login may use."""

SCHEMES = {"apr1": apr_md5_crypt, "bcrypt": bcrypt.using(ident="2y", rounds=5), "sha": ldap_sha1}
"""`htpasswd -m` (the default), `-B` (its default cost, 5) and `-s`, by the names `htpasswd_line`
takes."""


@functools.cache
def _dummy_hash() -> str:
    """Verified against when there is nothing to verify (no such user, NULL, a line of another
    user or an unknown scheme), so a refusal costs what a real check does: Apache MD5, the
    scheme `htpasswd -n` writes by default and so the one most lines use."""
    hashed: str = apr_md5_crypt.hash("not-a-real-password")
    return hashed


def htpasswd_line(userid: str, password: str, scheme: str = "apr1") -> str:
    """`userid:hash`, as `htpasswd -n` prints it (for seeding an index and for tests)."""
    return f"{userid}:{SCHEMES[scheme].hash(password)}"


def _hash_of(line: str | None, userid: str) -> str | None:
    """The hash of an htpasswd line, if the line is `userid`'s and its scheme is one we know."""
    if line is None:
        return None
    owner, sep, stored = line.strip().partition(":")
    if not sep or not hmac.compare_digest(owner.encode(), userid.encode()):
        return None
    return stored if HTPASSWD.identify(stored) is not None else None


def verify_htpasswd(line: str | None, userid: str, password: str) -> bool:
    """Whether `password` matches the htpasswd line stored for `userid` (None: no user or a
    NULL password). Every refusal verifies something, so timing does not tell them apart."""
    stored = _hash_of(line, userid)
    try:
        matches = HTPASSWD.verify(password, stored or _dummy_hash())
    except (ValueError, TypeError):  # a malformed hash of a known scheme
        return False
    return matches and stored is not None


class Signer:
    """HMAC-signed, expiring values: `value.timestamp.signature`, all URL-safe."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hashlib.sha256(f"{purpose}\0{secret}".encode()).digest()

    def _mac(self, payload: str) -> str:
        mac = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def sign(self, value: str, now: float | None = None) -> str:
        encoded = base64.urlsafe_b64encode(value.encode()).rstrip(b"=").decode()
        payload = f"{encoded}.{int(now if now is not None else time.time())}"
        return f"{payload}.{self._mac(payload)}"

    def unsign(self, token: str | None, max_age_s: float, now: float | None = None) -> str | None:
        """The signed value, or None when the token is missing, forged or too old."""
        if not token or token.count(".") != 2:
            return None
        encoded, stamp, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(f"{encoded}.{stamp}")):
            return None
        current = now if now is not None else time.time()
        if not stamp.isdigit() or current - int(stamp) > max_age_s:
            return None
        try:
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except ValueError:
            return None
