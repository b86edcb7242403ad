"""Login throttling's rules, on a clock the test moves."""

from __future__ import annotations

import threading

from intake.throttle import LoginThrottle, ThrottleRules


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


def test_verification_slots_bound_concurrency() -> None:
    throttle = LoginThrottle(RULES, verify_slots=2)
    inside, most = 0, 0
    lock, release = threading.Lock(), threading.Event()
    entered = threading.Semaphore(0)

    def verify() -> None:
        nonlocal inside, most
        with throttle.verifying():
            with lock:
                inside += 1
                most = max(most, inside)
            entered.release()
            release.wait(5)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=verify) for _ in range(6)]
    for t in threads:
        t.start()
    entered.acquire(timeout=5)
    entered.acquire(timeout=5)
    release.set()
    for t in threads:
        t.join(5)
    assert most == 2
