"""Login throttling: failures counted per login and per client address, in a sliding window.

- A login with too many recent failures is refused (429) before any password is verified, so
  guessing it costs the server nothing and gains the guesser nothing.
- An address with too many recent failures gets 429 instead of 401 for each further failure,
  but a correct password still gets in from it: one studio's typos (or a guesser sharing its
  NAT) never lock out another login.

(Password verifications also run under a small limiter, `Container.password_checks`, so a
burst of guesses queues instead of taking every worker thread.)
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleRules:
    login_failures: int = 10
    """Failures of one login within `window_s` after which it is refused before verifying."""
    address_failures: int = 30
    """Failures from one address within `window_s` after which its failures are answered 429."""
    window_s: float = 300.0
    max_tracked: int = 10_000
    """Logins and addresses remembered at most (least recently failed forgotten first)."""


class FailureWindow:
    """Recent failure times per key, bounded in keys and in times per key."""

    def __init__(self, limit: int, window_s: float, max_keys: int, clock: Callable[[], float]):
        self._limit = limit
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def add(self, key: str) -> None:
        times = self._failures.pop(key, None) or deque(maxlen=self._limit)
        times.append(self._clock())
        self._failures[key] = times  # most recent last
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` is below the limit again; None when it is not throttled."""
        times = self._failures.get(key)
        if times is None:
            return None
        now = self._clock()
        while times and now - times[0] >= self._window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        if len(times) < self._limit:
            return None
        return max(1, math.ceil(self._window_s - (now - times[0])))


class LoginThrottle:
    """Thread-safe: the auth dependency runs in the worker threads."""

    def __init__(
        self,
        rules: ThrottleRules | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = rules or ThrottleRules()
        r = self.rules
        self._logins = FailureWindow(r.login_failures, r.window_s, r.max_tracked, clock)
        self._addresses = FailureWindow(r.address_failures, r.window_s, r.max_tracked, clock)
        self._lock = threading.Lock()

    def login_retry_after(self, login: str) -> int | None:
        """Checked before verifying: a throttled login is refused whatever its password."""
        with self._lock:
            return self._logins.retry_after(login.casefold())

    def failed(self, login: str, address: str) -> int | None:
        """Count a failure; the Retry-After to answer with (429) or None (401)."""
        with self._lock:
            self._logins.add(login.casefold())
            self._addresses.add(address)
            by_address = self._addresses.retry_after(address)
            by_login = self._logins.retry_after(login.casefold())
        waits = [w for w in (by_address, by_login) if w is not None]
        return max(waits) if waits else None
