"""Sidecar mode forwards only showcase pages: each path checked segment by segment."""

from __future__ import annotations

import pytest
from machine_agent.page_paths import page_path, page_segments


def scope(raw: str, decoded: str | None = None) -> dict[str, object]:
    return {"raw_path": raw.encode(), "path": decoded if decoded is not None else raw}


@pytest.mark.parametrize(
    ("raw", "segments"),
    [
        ("/showcase/2026/boston/summer/", ("2026", "boston", "summer")),
        ("/showcase/2027/chicago/", ("2027", "chicago")),
        ("/showcase/studios/boston/", ("studios", "boston")),
        ("/showcase/2026/new_york-2/spring-gala/", ("2026", "new_york-2", "spring-gala")),
    ],
)
def test_showcase_pages_are_forwarded_as_their_segments(
    raw: str, segments: tuple[str, ...]
) -> None:
    assert page_segments(scope(raw)) == segments
    assert page_path(segments) == raw


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("/showcase/../../admin/", None),
        ("/showcase/%2e%2e/%2e%2e/admin/", "/showcase/../../admin/"),
        ("/showcase/2026%2fboston/x/", "/showcase/2026/boston/x/"),  # an escaped separator
        ("/showcase/2026/boston/%73ummer/", "/showcase/2026/boston/summer/"),  # any escape
        ("/showcase/2026/./boston/", None),
        ("/showcase/2026/boston/summer", None),  # no trailing slash
        ("/showcase/2026/boston/summer/extra/", None),
        ("/showcase/26/boston/", None),  # not a year
        ("/showcase/2026/.hidden/", None),
        ("/showcase/studios/a.b/", None),
        ("/showcase/2026/boston\\..\\admin/x/", None),
        ("/showcase//boston/", None),
        ("/admin/", None),
    ],
)
def test_anything_else_is_refused(raw: str, decoded: str | None) -> None:
    assert page_segments(scope(raw, decoded)) is None
