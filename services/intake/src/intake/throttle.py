"""Login throttling that stops guessing without locking the owner out.

Every HTTP Basic check is an `Attempt`, opened BEFORE any password is verified:

1. **The owner first.** A login presented with a signed "known device" cookie from an earlier
   success of that login, or from an address that logged in successfully as that login before,
   is checked against its own small bucket only (`trusted_failures` per window, per login and
   device or per login and address). Guesses at that login from elsewhere, or at other logins
   from the owner's address (a shared office, a NAT), never lock the owner out.
2. **Anyone else** is refused (429) before verification when the login, the address (an IPv6
   address counts by its /64) or the whole service (failed verifications per minute) is over its
   limit, or when the table of failures is full of live records.
3. **Reserved, then verified.** An attempt counts as a failure from the moment it is opened
   (`pending`) until it succeeds: a burst of concurrent guesses cannot outrun the counter.

Memory is bounded without forgetting a live record: a record leaves the table only once its
failures are older than the window and nothing is pending on it; when `max_tracked` live
records are held, new failures are refused instead (they need a new record). The global cap
on failed verifications bounds how fast records can be made at all.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThrottleRules:
    login_failures: int = 10
    """Failures of one login within `window_s` after which it gets 429 before verifying."""
    address_failures: int = 30
    """Failures from one address within `window_s` after which it gets 429 before verifying."""
    trusted_failures: int = 10
    """Failures within `window_s` of the owner's path (a known device or address of a login)."""
    global_failures_per_minute: int = 300
    """Failed verifications of the whole service per minute after which untrusted attempts get
    429 before verifying (it also bounds how fast the table below can grow)."""
    window_s: float = 300.0
    max_tracked: int = 100_000
    """Live failure records held at most; past it, attempts that need a new record get 429."""
    known_for_s: float = 30 * 24 * 3600.0
    """How long an address stays known for a login after a successful login from it."""
    max_known: int = 100_000
    """Known (login, address) pairs remembered at most (the least recently used forgotten:
    the device cookie still vouches for its owner)."""


class Throttled(Exception):
    """Refused before verification: answer 429 with Retry-After."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"throttled for {retry_after_s}s")
        self.retry_after_s = retry_after_s


@dataclass
class _Record:
    failures: deque[float]
    pending: int = 0


@dataclass
class _Bucket:
    """Failures per key within a window; records expire, live ones are never evicted."""

    limit: int
    window_s: float
    records: dict[str, _Record] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> int | None:
        record = self.records.get(key)
        if record is None:
            return None
        while record.failures and now - record.failures[0] >= self.window_s:
            record.failures.popleft()
        if len(record.failures) + record.pending < self.limit:
            return None
        oldest = record.failures[0] if record.failures else now
        return max(1, math.ceil(self.window_s - (now - oldest)))

    def reserve(self, key: str) -> None:
        record = self.records.get(key)
        if record is None:
            record = self.records[key] = _Record(deque(maxlen=self.limit))
        record.pending += 1

    def settle(self, key: str, now: float, *, failed: bool) -> None:
        record = self.records[key]
        record.pending -= 1
        if failed:
            record.failures.append(now)

    def sweep(self, now: float) -> None:
        """Drop the records with nothing pending and no failure inside the window."""
        for key in [k for k, r in self.records.items() if self._expired(r, now)]:
            del self.records[key]

    def _expired(self, record: _Record, now: float) -> bool:
        return record.pending == 0 and (
            not record.failures or now - record.failures[-1] >= self.window_s
        )


@functools.lru_cache(maxsize=4096)
def address_key(address: str) -> str:
    """The unit an address is counted in: itself, or its /64 for IPv6 (one subscriber's).
    Remembered per address: each request asks it two or three times, a busy client the same."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class Attempt:
    """One login attempt, reserved in its buckets; settle it exactly once."""

    throttle: LoginThrottle
    login: str
    address: str
    keys: list[tuple[_Bucket, str]]
    trusted: bool
    settled: bool = False

    def succeeded(self) -> None:
        self.throttle._settle(self, failed=False)

    def failed(self) -> None:
        self.throttle._settle(self, failed=True)

    def abandoned(self) -> None:
        """Neither (the lookup failed before verifying): release the reservation."""
        self.throttle._settle(self, failed=False, remember=False)


class LoginThrottle:
    """Thread-safe: the auth dependency's work runs in worker threads too."""

    def __init__(
        self, rules: ThrottleRules | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rules = r = rules or ThrottleRules()
        self._clock = clock
        self._logins = _Bucket(r.login_failures, r.window_s)
        self._addresses = _Bucket(r.address_failures, r.window_s)
        self._trusted = _Bucket(r.trusted_failures, r.window_s)
        self._global = _Bucket(r.global_failures_per_minute, 60.0)
        self._known: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()
        self._swept_at = -math.inf

    def check(self, login: str, address: str, *, device: bool = False) -> None:
        """Raise `Throttled` if an attempt of `login` from `address` would be refused now
        (`device`: it carries a valid known-device cookie for `login`); reserves nothing."""
        with self._lock:
            self._open(login.casefold(), address_key(address), device, self._clock())

    def begin(self, login: str, address: str, *, device: bool = False) -> Attempt:
        """Reserve an attempt before verifying it; raises `Throttled` instead when refused."""
        login, where = login.casefold(), address_key(address)
        with self._lock:
            now = self._clock()
            keys, trusted = self._open(login, where, device, now)
            if not trusted:  # the owner's records are bounded by the known pairs and users
                self._make_room(keys, now)
            for bucket, key in keys:
                bucket.reserve(key)
        return Attempt(self, login, where, keys, trusted=trusted)

    def _open(
        self, login: str, where: str, device: bool, now: float
    ) -> tuple[list[tuple[_Bucket, str]], bool]:
        trust = self._trust(login, where, device, now)
        if trust is not None:
            keys = [(self._trusted, trust)]
        else:
            keys = [(self._global, ""), (self._logins, login), (self._addresses, where)]
        waits = [w for bucket, key in keys if (w := bucket.retry_after(key, now)) is not None]
        if waits:
            raise Throttled(max(waits))
        return keys, trust is not None

    def remember(self, login: str, address: str) -> None:
        """A success without a verification (credentials verified a moment ago)."""
        with self._lock:
            self._remember(login.casefold(), address_key(address), self._clock())

    def _trust(self, login: str, where: str, device: bool, now: float) -> str | None:
        """The owner's bucket key when the attempt comes from a known device or address."""
        if device:
            return f"device\0{login}"
        seen = self._known.get((login, where))
        if seen is not None and now - seen < self.rules.known_for_s:
            return f"address\0{login}\0{where}"
        return None

    def _make_room(self, keys: list[tuple[_Bucket, str]], now: float) -> None:
        new = sum(1 for bucket, key in keys if key not in bucket.records)
        if self._tracked() + new <= self.rules.max_tracked:
            return
        if now - self._swept_at >= 1.0:  # a sweep walks every record: at most once a second
            self._swept_at = now
            for bucket in (self._logins, self._addresses, self._trusted, self._global):
                bucket.sweep(now)
        if self._tracked() + new > self.rules.max_tracked:
            raise Throttled(math.ceil(self.rules.window_s))

    def _tracked(self) -> int:
        buckets = (self._logins, self._addresses, self._trusted)
        return sum(len(bucket.records) for bucket in buckets)

    def _settle(self, attempt: Attempt, *, failed: bool, remember: bool = True) -> None:
        with self._lock:
            if attempt.settled:
                return
            attempt.settled = True
            now = self._clock()
            for bucket, key in attempt.keys:
                bucket.settle(key, now, failed=failed)
            if not failed and remember:
                self._remember(attempt.login, attempt.address, now)

    def _remember(self, login: str, where: str, now: float) -> None:
        self._known[(login, where)] = now
        self._known.move_to_end((login, where))
        while len(self._known) > self.rules.max_known:
            self._known.popitem(last=False)

    def login_retry_after(self, login: str) -> int | None:
        """Seconds until an untrusted attempt at `login` is verified again; None: not throttled."""
        with self._lock:
            return self._logins.retry_after(login.casefold(), self._clock())

    def address_retry_after(self, address: str) -> int | None:
        with self._lock:
            return self._addresses.retry_after(address_key(address), self._clock())
