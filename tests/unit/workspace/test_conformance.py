"""Every port protocol of the code has its fake checked by mypy in tests/support/conformance.py
(the assignment there fails type checking when a fake drifts from its protocol)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.conformance import PORTS

ROOT = Path(__file__).resolve().parents[3]
NOT_PORTS = {
    "Installer": "the agent's two ways of placing files, both real (tests use them), no fake",
    "Component": "devstack's kinds of child process, not a port of the pipeline",
    **{
        row: "what a Rails index row offers to read (SQLModel rows, the agent's records)"
        for row in ("LocationRow", "ShowcaseRow", "UserRow", "RegionRow")
    },
}


def protocols() -> set[str]:
    found: set[str] = set()
    for path in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        found |= _protocols_in(path)
    for path in ROOT.glob("tools/*/src/**/*.py"):
        found |= _protocols_in(path)
    return found


def _protocols_in(path: Path) -> set[str]:
    return {
        node.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(
            getattr(base, "id", getattr(base, "attr", None)) == "Protocol" for base in node.bases
        )
    }


def test_every_port_protocol_has_its_fake_checked() -> None:
    missing = protocols() - PORTS - NOT_PORTS.keys()
    assert not missing, f"add `_: <Port> = Fake<Port>()` to tests/support/conformance.py: {missing}"


def test_the_conformance_module_names_only_real_protocols() -> None:
    assert protocols() >= PORTS


def test_the_conformance_module_is_type_checked() -> None:
    """mypy reads tests/ (pyproject's [tool.mypy] files), so the assignments are checked."""
    import tomllib

    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert "tests" in mypy["files"]
