"""The client address the throttle sees: Fly-Client-IP on Fly, X-Forwarded-For only from a
trusted proxy range, else the peer (a client cannot choose its address by a header)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from intake.client_address import client_of, parse_networks
from intake.config import IntakeSettings

from tests.unit.intake.conftest import make_settings


def scope(peer: str, **headers: str) -> dict[str, object]:
    encoded = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "client": (peer, 5000), "headers": encoded}


PROXIES = parse_networks("10.0.0.0/8, fdaa::/16")


def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    forged = scope("203.0.113.9", x_forwarded_for="1.2.3.4", fly_client_ip="5.6.7.8")
    assert client_of(forged, fly=False, trusted=PROXIES) == ("203.0.113.9", False)


def test_a_trusted_proxys_forwarded_for_is_read_from_the_right() -> None:
    # the client put "1.2.3.4" in itself; our proxies (10.x) appended what they saw
    chain = scope("10.0.0.5", x_forwarded_for="1.2.3.4, 198.51.100.7, 10.0.0.9")
    assert client_of(chain, fly=False, trusted=PROXIES) == ("198.51.100.7", True)
    garbage = scope("10.0.0.5", x_forwarded_for="nonsense, 10.0.0.9")
    assert client_of(garbage, fly=False, trusted=PROXIES) == ("10.0.0.5", True)


def test_on_fly_the_client_is_fly_client_ip() -> None:
    assert client_of(scope("172.16.0.2", fly_client_ip="2001:db8::1"), fly=True, trusted=[]) == (
        "2001:db8::1",
        True,
    )
    assert client_of(scope("172.16.0.2"), fly=True, trusted=[]) == ("172.16.0.2", True)


def test_a_bad_range_stops_intake_at_start(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="not-a-range"):
        make_settings(tmp_path, intake_trusted_proxies="10.0.0.0/8, not-a-range")  # type: ignore[arg-type]


async def test_a_guesser_cannot_escape_the_throttle_by_forging_forwarded_for(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.2", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as guesser:
        answers = [
            (
                await guesser.get(
                    "/showcases/new",
                    auth=(f"user{i}", "guess"),
                    headers={"X-Forwarded-For": f"198.51.100.{i}", "Fly-Client-IP": f"1.1.1.{i}"},
                )
            ).status_code
            for i in range(31)
        ]
    assert answers[:30] == [401] * 30 and answers[30] == 429  # one address, whatever it says


def test_settings_default_to_no_proxy(settings: IntakeSettings) -> None:
    assert not settings.intake_fly_proxy and settings.intake_trusted_proxies == ""
