"""Passwords (argon2), HTTP Basic verification, and signed values (CSRF tokens, flashes)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so both cases take the same time."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-time argon2 check; an unknown user (None) costs as much as a known one."""
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


class VerifiedCredentials:
    """Remembers recent successful checks so each request does not pay argon2 again.

    Keys are an HMAC of (login, password, stored hash) under a per-process random key: the
    cache never holds a password, and a changed hash in the database misses.
    """

    def __init__(self, size: int = 256, ttl_s: float = 300.0) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._size = size
        self._ttl_s = ttl_s
        self._lock = threading.Lock()

    def _digest(self, login: str, password: str, password_hash: str) -> bytes:
        message = "\0".join((login, password, password_hash)).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def check(self, login: str, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            return verify_password(None, password)
        digest = self._digest(login, password, password_hash)
        with self._lock:
            expires = self._entries.get(digest)
        if expires is not None and expires > time.monotonic():
            return True
        if not verify_password(password_hash, password):
            return False
        with self._lock:
            self._entries[digest] = time.monotonic() + self._ttl_s
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return True


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
