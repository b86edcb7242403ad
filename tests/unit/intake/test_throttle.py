"""Login throttling's rules, on a clock the test moves."""

from __future__ import annotations

import httpx
from intake.throttle import LoginThrottle, ThrottleRules

from tests.unit.intake.conftest import ADMIN, STUDIO


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RULES = ThrottleRules(login_failures=3, address_failures=5, window_s=60.0)


def test_a_login_is_throttled_after_its_failures_and_freed_by_time() -> None:
    clock = Clock()
    throttle = LoginThrottle(RULES, clock=clock)
    assert [throttle.failed("ghost", "10.0.0.1") for _ in range(2)] == [None, None]
    assert throttle.login_retry_after("ghost") is None
    assert throttle.failed("ghost", "10.0.0.1") == 60
    assert throttle.login_retry_after("Ghost") == 60  # logins compared case-blind
    clock.now += 45
    assert throttle.login_retry_after("ghost") == 15
    clock.now += 15
    assert throttle.login_retry_after("ghost") is None


def test_an_address_throttles_failures_but_never_another_login() -> None:
    throttle = LoginThrottle(RULES, clock=Clock())
    answers = [throttle.failed(f"user{i}", "10.0.0.9") for i in range(5)]
    assert answers[:4] == [None] * 4 and answers[4] == 60  # the fifth failure is a 429
    # No login failed three times: none is refused before its password is checked.
    assert all(throttle.login_retry_after(f"user{i}") is None for i in range(5))
    assert throttle.login_retry_after("studio") is None


def test_memory_is_bounded() -> None:
    rules = ThrottleRules(login_failures=2, address_failures=2, window_s=60.0, max_tracked=10)
    throttle = LoginThrottle(rules, clock=Clock())
    for i in range(100):
        throttle.failed(f"user{i}", f"10.0.{i}.1")
    throttle.failed("user99", "10.0.99.1")
    assert throttle.login_retry_after("user99") == 60
    assert throttle.login_retry_after("user0") is None  # forgotten, not leaked


async def test_bad_logins_get_429_and_another_login_still_gets_in(
    client: httpx.AsyncClient,
) -> None:
    """30 bad logins for an unknown login from one address: the first ten are 401, then the
    login is throttled (429 with Retry-After, before any password check); `studio`, from the
    same address, still gets in with its password."""
    answers = [
        (await client.get("/showcases/new", auth=("ghost", f"guess-{i}"))).status_code
        for i in range(30)
    ]
    assert answers[:9] == [401] * 9 and set(answers[10:]) == {429}
    throttled = await client.get("/showcases/new", auth=("ghost", "another"))
    assert int(throttled.headers["Retry-After"]) > 0
    assert (await client.get("/showcases/new", auth=STUDIO)).status_code == 200


async def test_a_throttled_login_is_refused_even_with_its_password(
    client: httpx.AsyncClient,
) -> None:
    for i in range(10):
        assert (await client.get("/showcases/new", auth=("studio", f"typo-{i}"))).status_code in (
            401,
            429,
        )
    assert (await client.get("/showcases/new", auth=STUDIO)).status_code == 429
    assert (await client.get("/showcases/new", auth=ADMIN)).status_code == 200
