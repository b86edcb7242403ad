"""Every service has the same composition root, so whoever knows one knows all.

- `__main__.py` is `run(<Name>Settings, ports, build)` and nothing else (at most 25 lines of code);
- `bootstrap.py` has `ports(settings: <Name>Settings) -> <Name>Ports`, a dataclass subclass of
  `runner.Ports` (the NATS link is its typed `nats` field), which connects nothing, and
  `build(settings, ports: <Name>Ports) -> Service`;
- `tests/support/ports.py` has `Fake<Name>Ports`, a `<Name>Ports` of fakes, and `build` accepts it;
- `build` only wires objects: with the fake ports it touches no file or directory (what must
  exist is made by the `Service`'s `prepare` steps, at start-up);
- the service's unit tests (`tests/unit/<pkg>/`) build it so, `build(settings, Fake<Name>Ports)`,
  and enter through no other door of its bootstrap (no app factory);
- consumers are declared (`Service.consumers`), their durables unique across the system.

The services are found on disk (every `services/*/src/<pkg>/__main__.py`, and the alerter that
`showcasectl alerts run` serves): a new service is held to the contract without editing this file.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import socket
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from showcase_common.bus.link import NatsLink
from showcase_common.runner import Ports, Service
from showcase_common.settings import CommonSettings
from starlette.applications import Starlette

from tests.support import ports as fake_ports

ROOT = Path(__file__).resolve().parents[3]
MAX_MAIN_LINES = 25


@dataclass(frozen=True)
class Root:
    package: str
    main: Path | None
    """The `__main__.py` (None: the alerter, run by a showcasectl command)."""

    @property
    def bootstrap(self) -> ModuleType:
        return importlib.import_module(f"{self.package}.bootstrap")


def roots() -> list[Root]:
    found = [
        Root(main.parent.name, main) for main in sorted(ROOT.glob("services/*/src/*/__main__.py"))
    ]
    return [*found, Root("showcasectl", None)]


IDS = [r.package for r in roots()]


def _hints(function: Any) -> dict[str, Any]:
    # The runner names NatsLink for the type checker only (an agent never loads nats-py).
    return typing.get_type_hints(function, localns={"NatsLink": NatsLink})


def _settings_type(root: Root) -> type[CommonSettings]:
    hint = _hints(root.bootstrap.ports)["settings"]
    assert issubclass(hint, CommonSettings), f"{root.package}: ports takes {hint}, not settings"
    return hint


def _ports_type(root: Root) -> type[Ports]:
    hint = _hints(root.bootstrap.ports)["return"]
    assert isinstance(hint, type) and issubclass(hint, Ports), (
        f"{root.package}: ports() returns {hint}, not a subclass of runner.Ports"
    )
    assert dataclasses.is_dataclass(hint), f"{hint.__name__} is not a dataclass"
    return hint


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_main_is_run_with_settings_ports_and_build(root: Root) -> None:
    if root.main is None:
        source = (ROOT / "tools/showcasectl/src/showcasectl/commands/alerts.py").read_text()
    else:
        source = root.main.read_text()
        code = [
            line
            for line in ast.unparse(ast.parse(source)).splitlines()
            if line.strip() and not line.lstrip().startswith(("'", '"'))
        ]
        assert len(code) <= MAX_MAIN_LINES, f"{root.main}: {len(code)} lines of code"
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run"
    ]
    assert len(calls) == 1, f"{root.package}: one call of the runner's run(...)"
    args = [ast.unparse(a) for a in calls[0].args[:3]]
    settings = _settings_type(root).__name__
    assert args[1:] == ["ports", "build"], f"{root.package}: run({', '.join(args)})"
    if root.main is not None:
        assert args[0] == settings, f"{root.package}: run({args[0]}, …), not {settings}"
        assert "configure_logging" not in source  # the runner logs


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_bootstrap_has_ports_and_build_with_the_contract_types(root: Root) -> None:
    settings, ports_type = _settings_type(root), _ports_type(root)
    assert ports_type.__name__.endswith("Ports")
    build = _hints(root.bootstrap.build)
    assert list(inspect.signature(root.bootstrap.build).parameters) == ["settings", "ports"]
    assert build["settings"] is settings
    assert build["ports"] is ports_type
    assert build["return"] is Service
    assert _hints(ports_type)["nats"] == NatsLink | None  # the runner's typed link


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_ports_connect_nothing(
    root: Root, settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[object] = []

    def refuse(_sock: socket.socket, address: object) -> None:
        tried.append(address)
        raise AssertionError(f"ports() connected to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    made = root.bootstrap.ports(_settings_type(root)())
    assert isinstance(made, _ports_type(root))
    assert tried == []
    assert made.nats is None or not made.nats.connected


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_build_takes_the_fake_ports(root: Root, settings_env: None) -> None:
    ports_type = _ports_type(root)
    fake_type = getattr(fake_ports, f"Fake{ports_type.__name__}", None)
    assert fake_type is not None, f"tests/support/ports.py has no Fake{ports_type.__name__}"
    assert issubclass(fake_type, ports_type)
    service = root.bootstrap.build(_settings_type(root)(), fake_type())
    assert isinstance(service, Service)
    for spec in service.consumers:
        assert spec.filter_subjects, f"{spec.durable} consumes nothing"


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_build_touches_no_file_system(
    root: Root, settings_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every path the settings name is under `tmp_path`, and the temporary directory too (the
    syncer's staging when SYNCER_WORK_DIR is unset): after `build`, nothing is there."""
    monkeypatch.delenv("SYNCER_WORK_DIR")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    fake_type = getattr(fake_ports, f"Fake{_ports_type(root).__name__}")
    service = root.bootstrap.build(_settings_type(root)(), fake_type())
    assert isinstance(service, Service)
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*")] == [Path("tmp")]


def _unit_tests(root: Root) -> list[Path]:
    return sorted((ROOT / "tests/unit" / root.package).glob("*.py"))


def _from_bootstrap(root: Root, source: Path) -> set[str]:
    """The names `source` imports from the service's bootstrap."""
    return {
        alias.name
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == f"{root.package}.bootstrap"
        for alias in node.names
    }


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_unit_tests_build_the_service_with_its_fake_ports(root: Root) -> None:
    fake = f"Fake{_ports_type(root).__name__}"
    sources = _unit_tests(root)
    assert sources, f"tests/unit/{root.package}/ has no tests"
    assert any(fake in path.read_text() for path in sources), f"no unit test uses {fake}"
    imported = set().union(*(_from_bootstrap(root, path) for path in sources))
    assert "build" in imported, f"the unit tests of {root.package} never call its build"
    doors = {
        name
        for name in imported
        if callable(member := getattr(root.bootstrap, name))
        and not isinstance(member, type)
        and isinstance(app := _hints(member).get("return"), type)
        and issubclass(app, Starlette)
    }
    assert not doors, f"unit tests enter {root.package} through {doors}, not build"


def test_the_door_check_sees_an_app_factory(tmp_path: Path) -> None:
    """An app factory imported from a bootstrap is what the check above refuses."""
    root = Root("intake", None)
    source = tmp_path / "test_x.py"
    source.write_text("from intake.bootstrap import build, intake_app\n")
    names = _from_bootstrap(root, source)
    assert names == {"build", "intake_app"}
    assert issubclass(_hints(root.bootstrap.intake_app)["return"], Starlette)
    agent = importlib.import_module("machine_agent.bootstrap")
    assert issubclass(_hints(agent.agent_app)["return"], Starlette)


def test_durables_are_unique_across_services(settings_env: None) -> None:
    owners: dict[str, str] = {}
    for root in roots():
        fake_type = getattr(fake_ports, f"Fake{_ports_type(root).__name__}")
        service = root.bootstrap.build(_settings_type(root)(), fake_type())
        for spec in service.consumers:
            assert spec.durable not in owners, f"{spec.durable}: {owners.get(spec.durable)}"
            owners[spec.durable] = root.package
    assert len(owners) >= 4  # syncer, updater, projector, alerts
