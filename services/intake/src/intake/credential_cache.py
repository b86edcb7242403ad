"""Recently verified credentials, so a studio's burst of requests pays the password hash once.

HTTP Basic sends the password with every request, and `users.password` may hold a bcrypt line
(`$2y$`, cost 10–12 in the real index: 100–570 ms of CPU each). A success is remembered for a
short while (`ttl_s`, default 60 s):

- the key is an HMAC (a random per-process key) of the userid and the presented password: the
  cache never holds a password, and its keys are worthless outside this process;
- each entry also holds an HMAC of the htpasswd line it was verified against: when
  `users.password` changes (a new password, a removed login), the line read for the request no
  longer matches, the entry is dropped and the new line is verified as usual;
- only successes are remembered; a failure always pays the full check, and the login throttle
  (`intake.throttle`, consulted before any check) still refuses a throttled login or address
  even when its credentials are cached.

`cached` is a few microseconds (two HMACs and a dict lookup), so it runs in the event loop; only
a miss goes to a worker thread for the real verification. An entry also keeps the `User` the
routes were given (`user_for`): a hit builds no object, as long as the row's id and sites are
still those it was built from. Thread-safe.

`in_flight` (used from the event loop only) holds the verifications running, by `flight_key`:
concurrent requests with the same credentials wait for that one instead of each verifying
(and each taking a place in the login throttle's count).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from showcase_common.index.models import User

from intake.loop_reads import LoginRow
from intake.security import verify_htpasswd


@dataclass
class _Entry:
    line_digest: bytes
    expires: float
    user: User | None = None
    """The login as the routes get it, built from the row verified (None: not built yet)."""


class VerifiedCredentials:
    def __init__(
        self, size: int = 1024, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._size, self._ttl_s, self._clock = size, ttl_s, clock
        self._lock = threading.Lock()
        self.in_flight: dict[bytes, anyio.Event] = {}

    def flight_key(self, userid: str, password: str) -> bytes:
        """Names a verification of these credentials in `in_flight` (never the password)."""
        return self._mac("flight", userid, password)

    def verify(self, userid: str, password: str, line: str | None) -> bool:
        """`verify_htpasswd` itself, the hash every time (off the event loop)."""
        return verify_htpasswd(line, userid, password)

    def _mac(self, *parts: str) -> bytes:
        return hmac.new(self._key, "\0".join(parts).encode(), hashlib.sha256).digest()

    def cached(self, userid: str, password: str, line: str | None) -> bool:
        """True when these credentials were verified against this very line within `ttl_s`.
        A stale or outdated entry (the line changed) is dropped."""
        if line is None or self._ttl_s <= 0:
            return False
        key = self._mac("credentials", userid, password)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            fresh = entry.expires > self._clock()
            if fresh and hmac.compare_digest(entry.line_digest, self._mac("line", line)):
                return True
            del self._entries[key]
            return False

    def user_for(self, userid: str, password: str, row: LoginRow) -> User | None:
        """The login's `User` when these credentials were verified against `row`'s line within
        `ttl_s` (the one remembered, if the row's id and sites are still its own), else None."""
        if not self.cached(userid, password, row.password):
            return None
        with self._lock:
            entry = self._entries.get(self._mac("credentials", userid, password))
            if entry is None:  # dropped by another thread just now
                return None
            user = entry.user
            if user is None or user.id != row.id or user.sites != row.sites:
                user = entry.user = row.user()
            return user

    def remember(self, userid: str, password: str, line: str, user: User | None = None) -> None:
        """Remember a successful verification of `password` against `line` (and the `User`
        it was made for)."""
        if self._ttl_s <= 0:
            return
        key = self._mac("credentials", userid, password)
        entry = _Entry(self._mac("line", line), self._clock() + self._ttl_s, user)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def check(self, userid: str, password: str, line: str | None) -> bool:
        """`verify_htpasswd`, answered from the cache when it can be (call it off the event
        loop: a miss verifies the hash)."""
        if self.cached(userid, password, line):
            return True
        if not verify_htpasswd(line, userid, password):
            return False
        assert line is not None  # verify_htpasswd accepts no missing line
        self.remember(userid, password, line)
        return True

    def __len__(self) -> int:
        return len(self._entries)
