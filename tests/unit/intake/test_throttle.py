"""Login throttling that protects the owner: its rules on a clock the test moves, then through
intake's HTTP Basic check from several client addresses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from intake.credential_cache import VerifiedCredentials
from intake.route_deps import RouteDeps
from intake.throttle import LoginThrottle, Throttled, ThrottleRules, address_key

from tests.unit.intake.conftest import ADMIN, STUDIO


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RULES = ThrottleRules(login_failures=3, address_failures=5, trusted_failures=2, window_s=60.0)


def fail(throttle: LoginThrottle, login: str, address: str, *, device: bool = False) -> None:
    throttle.begin(login, address, device=device).failed()


def test_a_login_is_throttled_after_its_failures_and_freed_by_time() -> None:
    clock = Clock()
    throttle = LoginThrottle(RULES, clock=clock)
    for _ in range(3):
        fail(throttle, "ghost", "10.0.0.1")
    with pytest.raises(Throttled) as refused:
        throttle.begin("Ghost", "10.0.0.2")  # logins compared case-blind, from anywhere
    assert refused.value.retry_after_s == 60
    clock.now += 45
    assert throttle.login_retry_after("ghost") == 15
    clock.now += 15
    assert throttle.login_retry_after("ghost") is None
    throttle.begin("ghost", "10.0.0.2").failed()  # verified again


def test_a_throttled_address_is_refused_before_verifying_for_any_new_login() -> None:
    throttle = LoginThrottle(RULES, clock=Clock())
    for i in range(5):
        fail(throttle, f"user{i}", "10.0.0.9")
    with pytest.raises(Throttled):
        throttle.begin("studio", "10.0.0.9")  # 429 vs 200 can no longer tell a right guess
    throttle.begin("studio", "10.0.0.10").succeeded()  # another address is not concerned


def test_the_attempt_is_reserved_before_verifying() -> None:
    """Concurrent guesses: each holds its place in the count until it is settled."""
    throttle = LoginThrottle(RULES, clock=Clock())
    open_attempts = [throttle.begin("studio", f"10.0.0.{i}") for i in range(3)]
    with pytest.raises(Throttled):
        throttle.begin("studio", "10.0.0.99")  # three already pending: no fourth verification
    open_attempts[0].succeeded()  # a success gives its place back
    throttle.begin("studio", "10.0.0.99").abandoned()


def test_the_owners_known_address_gets_in_while_the_login_is_attacked_elsewhere() -> None:
    throttle = LoginThrottle(RULES, clock=Clock())
    throttle.begin("studio", "192.0.2.7").succeeded()  # the owner logged in before
    for i in range(3):
        fail(throttle, "studio", f"10.0.0.{i}")
    with pytest.raises(Throttled):
        throttle.begin("studio", "10.0.0.50")
    throttle.begin("studio", "192.0.2.7").succeeded()


def test_the_owners_address_throttled_by_guesses_at_other_logins_still_lets_the_owner_in() -> None:
    throttle = LoginThrottle(RULES, clock=Clock())
    throttle.begin("studio", "192.0.2.7").succeeded()
    for i in range(5):  # someone behind the same NAT guesses other logins
        fail(throttle, f"user{i}", "192.0.2.7")
    with pytest.raises(Throttled):
        throttle.begin("admin", "192.0.2.7")
    throttle.begin("studio", "192.0.2.7").succeeded()


def test_a_known_device_gets_in_from_a_new_address() -> None:
    throttle = LoginThrottle(RULES, clock=Clock())
    for i in range(3):
        fail(throttle, "studio", f"10.0.0.{i}")
    with pytest.raises(Throttled):
        throttle.begin("studio", "203.0.113.5")
    throttle.begin("studio", "203.0.113.5", device=True).succeeded()


def test_the_owners_path_has_its_own_small_limit() -> None:
    throttle = LoginThrottle(RULES, clock=Clock())
    throttle.begin("studio", "192.0.2.7").succeeded()
    for _ in range(2):  # someone at the owner's address guessing the owner's login
        fail(throttle, "studio", "192.0.2.7")
    with pytest.raises(Throttled):
        throttle.begin("studio", "192.0.2.7")
    throttle.begin("studio", "192.0.2.7", device=True).succeeded()  # the cookie still works


def test_live_records_are_never_evicted_and_memory_stays_bounded() -> None:
    """10,000 failures with junk logins once evicted a throttled login's record."""
    clock = Clock()
    rules = ThrottleRules(
        login_failures=2,
        address_failures=2,
        window_s=60.0,
        max_tracked=100,
        global_failures_per_minute=1_000_000,
    )
    throttle = LoginThrottle(rules, clock=clock)
    throttle.begin("studio", "192.0.2.7").succeeded()
    for _ in range(2):
        fail(throttle, "admin", "10.9.9.9")
    refused = 0
    for i in range(10_000):
        try:
            fail(throttle, f"junk{i}", f"10.{i // 250}.{i % 250}.1")
        except Throttled:
            refused += 1  # the table is full of live records: new ones are refused instead
    assert throttle.login_retry_after("admin") is not None  # still throttled
    assert refused > 9_000
    assert throttle._tracked() <= 100
    throttle.begin("studio", "192.0.2.7").succeeded()  # the owner's path needs no new record
    clock.now += 61  # once they expire, records are swept and the table takes new ones
    throttle.begin("newcomer", "10.200.0.1").failed()
    assert throttle.login_retry_after("admin") is None


def test_a_global_cap_on_failed_verifications_per_minute() -> None:
    clock = Clock()
    rules = ThrottleRules(login_failures=100, address_failures=100, global_failures_per_minute=5)
    throttle = LoginThrottle(rules, clock=clock)
    throttle.begin("studio", "192.0.2.7").succeeded()
    for i in range(5):
        fail(throttle, f"user{i}", f"10.0.0.{i}")
    with pytest.raises(Throttled) as refused:
        throttle.begin("someone", "10.0.1.1")
    assert 0 < refused.value.retry_after_s <= 60
    throttle.begin("studio", "192.0.2.7").succeeded()  # the owner is not held by the cap
    clock.now += 60
    throttle.begin("someone", "10.0.1.1").failed()


def test_ipv6_addresses_count_by_their_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"


# --- through HTTP Basic -----------------------------------------------------------------------


Client = Callable[[str], httpx.AsyncClient]


@pytest.fixture
async def client_from(app: FastAPI) -> AsyncIterator[Client]:
    """A client whose requests come from the address given."""
    opened: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://intake.test")
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


async def _status(client: httpx.AsyncClient, auth: tuple[str, str]) -> int:
    return (await client.get("/showcases/new", auth=auth)).status_code


async def test_bad_logins_get_429_and_another_login_still_gets_in(
    client: httpx.AsyncClient,
) -> None:
    """30 bad logins for an unknown login from one address: the first ten are 401, then the
    login is throttled (429 with Retry-After, before any password check); `studio`, from the
    same address, still gets in with its password (the address had only ten failures)."""
    answers = [await _status(client, ("ghost", f"guess-{i}")) for i in range(30)]
    assert answers[:10] == [401] * 10 and set(answers[10:]) == {429}
    throttled = await client.get("/showcases/new", auth=("ghost", "another"))
    assert int(throttled.headers["Retry-After"]) > 0
    assert await _status(client, STUDIO) == 200


async def test_a_throttled_login_is_refused_from_a_new_address_even_with_its_password(
    client: httpx.AsyncClient,
) -> None:
    for i in range(10):
        assert await _status(client, ("studio", f"typo-{i}")) == 401
    assert await _status(client, STUDIO) == 429
    assert await _status(client, ADMIN) == 200


async def test_the_owner_gets_in_while_the_login_is_attacked_from_elsewhere(
    client_from: Client,
) -> None:
    owner, attacker, newcomer = (client_from(a) for a in ("127.0.0.1", "127.0.0.2", "127.0.0.3"))
    assert await _status(owner, STUDIO) == 200  # logged in before (and got a device cookie)
    answers = [await _status(attacker, ("studio", f"guess-{i}")) for i in range(30)]
    assert answers[:10] == [401] * 10 and set(answers[10:]) == {429}

    owner.cookies.clear()  # by its address alone
    assert await _status(owner, STUDIO) == 200
    assert await _status(newcomer, STUDIO) == 429  # neither address nor device known


async def test_a_known_device_cookie_lets_the_owner_in_from_a_new_address(
    client_from: Client,
) -> None:
    home, attacker, travelling = (client_from(a) for a in ("10.1.0.1", "10.2.0.1", "10.3.0.1"))
    assert await _status(home, STUDIO) == 200
    cookie = home.cookies.get("known_device")
    assert cookie
    for i in range(10):
        await _status(attacker, ("studio", f"guess-{i}"))
    assert await _status(travelling, STUDIO) == 429
    travelling.cookies.set("known_device", cookie)
    assert await _status(travelling, STUDIO) == 200
    elsewhere = client_from("10.4.0.1")  # (10.3.0.1 is a known address of studio's now)
    elsewhere.cookies.set("known_device", cookie[:-2] + "xx")  # a forged one is no device
    assert await _status(elsewhere, STUDIO) == 429


async def test_the_owners_address_throttled_by_guesses_at_other_logins_still_lets_it_in(
    client_from: Client,
) -> None:
    office = client_from("10.5.0.1")
    assert await _status(office, STUDIO) == 200
    office.cookies.clear()
    for i in range(30):  # a colleague behind the same NAT, guessing other logins
        assert await _status(office, (f"someone{i}", "guess")) == 401
    assert await _status(office, ("someone-else", "guess")) == 429
    assert await _status(office, ADMIN) == 429  # admin never logged in from here
    assert await _status(office, STUDIO) == 200


class CountingCredentials(VerifiedCredentials):
    """The real check, counting how often a password is verified."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def verify(self, userid: str, password: str, line: str | None) -> bool:
        self.checks += 1
        return super().verify(userid, password, line)


async def test_concurrent_guesses_cannot_outrun_the_counter_and_throttled_ones_are_not_verified(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    counting = deps.credentials = CountingCredentials()
    answers = await asyncio.gather(*(_status(client, ("studio", f"g{i}")) for i in range(30)))
    assert sorted(answers) == [401] * 10 + [429] * 20
    assert counting.checks == 10  # the 429s were refused before any verification


async def test_a_burst_of_the_same_right_credentials_costs_one_verification(
    client_from: Client, deps: RouteDeps
) -> None:
    """A browser (or 32 API clients) logging in at once from a new address: one hash, no 429."""
    counting = deps.credentials = CountingCredentials()
    fresh = client_from("10.8.0.1")
    answers = await asyncio.gather(*(_status(fresh, STUDIO) for _ in range(40)))
    assert answers == [200] * 40
    assert counting.checks == 1


async def test_a_refusal_takes_the_minimum_time_known_login_or_not(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    deps.settings.login_failure_min_s = 0.2
    for auth in [("studio", "wrong"), ("nobody-here", "wrong")]:
        started = time.monotonic()
        assert await _status(client, auth) == 401
        assert time.monotonic() - started >= 0.2
