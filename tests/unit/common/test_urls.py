"""Only http(s) URLs on the pipeline's public origins reach a studio's browser."""

from __future__ import annotations

import pytest
from showcase_common.urls import allowed_url, origin_of

ORIGINS = ["https://fleet.example", "http://127.0.0.1:8000/"]


@pytest.mark.parametrize(
    "url",
    [
        "https://fleet.example/showcase/2026/boston/spring/",
        "https://FLEET.example:443/showcase/",
        "http://127.0.0.1:8000/api/requests/abc/retry",
    ],
)
def test_http_on_a_public_origin_is_allowed(url: str) -> None:
    assert allowed_url(url, ORIGINS) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "http://fleet.example/showcase/",  # right host, wrong scheme (so another origin)
        "https://fleet.example:8443/",  # another port
        "https://evil.example/",
        "https://fleet.example.evil.example/",
        "https://fleet.example@evil.example/",  # credentials: the host is evil.example
        "https://evil.example\\@fleet.example/",  # a browser reads the backslash as a slash
        "https://fleet.example\t.evil/",
        "//fleet.example/",  # scheme-relative
        "/showcase/",  # relative
        "http://127.0.0.1:8001/",
    ],
)
def test_anything_else_is_refused(url: str | None) -> None:
    assert allowed_url(url, ORIGINS) is None


def test_origins_are_normalised() -> None:
    assert origin_of("HTTPS://Fleet.Example:443/x?y") == "https://fleet.example"
    assert origin_of("ws://127.0.0.1:8001/ws/progress?token=t") == "ws://127.0.0.1:8001"
    assert origin_of("not a url") == ""
