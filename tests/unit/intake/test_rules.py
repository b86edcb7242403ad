"""The showcase rules, on their own."""

from __future__ import annotations

import pytest
from intake.showcases import derive_key, safe_return_to


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Spring Showcase", "spring-showcase"),
        ("Spring Showcase, April 2026", "spring-showcase"),
        ("  Winter   Gala!! ", "winter-gala"),
        ("Rock & Roll -- Night", "rock-roll-night"),
        ("Ünïcode Dance", "n-code-dance"),
        ("2026 Recital", "2026-recital"),
        ("<script>alert(1)</script>", "script-alert-1-script"),
    ],
)
def test_key_is_derived_from_the_name(name: str, key: str) -> None:
    assert derive_key(name) == key


@pytest.mark.parametrize("path", ["/", "/locations/boston/events", "/a?b=c#d"])
def test_same_site_paths_are_accepted(path: str) -> None:
    assert safe_return_to(path)


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil",
        "/x\r\nSet-Cookie: a=b",
        "/" + "a" * 600,
    ],
)
def test_other_targets_are_refused(path: str) -> None:
    assert not safe_return_to(path)
