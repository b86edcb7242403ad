"""Shared code exists once: one retry policy and one "the bus is away" error, in libs/common."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _defined(name: str) -> list[Path]:
    sources = [p for d in ("libs", "services", "tools") for p in (ROOT / d).glob("*/src/**/*.py")]
    return [
        path.relative_to(ROOT)
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name == name
    ]


@pytest.mark.parametrize(
    ("name", "home"),
    [
        ("RetryPolicy", "libs/common/src/showcase_common/backoff.py"),
        ("BusUnavailable", "libs/common/src/showcase_common/bus/errors.py"),
    ],
)
def test_defined_once_in_common(name: str, home: str) -> None:
    assert _defined(name) == [Path(home)]
