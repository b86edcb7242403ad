"""Every workspace member declares what it imports, and showcase-common's heavy parts stay
behind its extras.

A member's third-party imports (found with `ast`, TYPE_CHECKING blocks included: the type checker
needs them installed too) must each come from a distribution the member declares itself, or from
showcase-common's base dependencies or the common extras it asks for. A member importing
`showcase_common.snapshots` must ask for `showcase-common[s3]`: which extra each common module
needs is worked out from the common modules' own imports, not written down a second time here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
COMMON = "showcase-common"
COMMON_PACKAGE = "showcase_common"


@dataclass(frozen=True)
class Member:
    name: str
    path: Path
    requirements: tuple[Requirement, ...]
    extras: dict[str, tuple[Requirement, ...]]

    @property
    def packages(self) -> list[Path]:
        return [p for p in (self.path / "src").iterdir() if (p / "__init__.py").exists()]

    def declared(self) -> set[str]:
        return {canonicalize_name(r.name) for r in self.requirements}

    def common_extras(self) -> set[str]:
        return {
            e for r in self.requirements if canonicalize_name(r.name) == COMMON for e in r.extras
        }


def _requirements(specs: list[str]) -> tuple[Requirement, ...]:
    return tuple(Requirement(spec) for spec in specs)


@cache
def members() -> dict[str, Member]:
    found: dict[str, Member] = {}
    for pyproject in sorted(ROOT.glob("*/*/pyproject.toml")):
        if pyproject.parts[-3] not in {"libs", "services", "tools"}:
            continue
        project = tomllib.loads(pyproject.read_text())["project"]
        extras = project.get("optional-dependencies", {})
        found[project["name"]] = Member(
            name=project["name"],
            path=pyproject.parent,
            requirements=_requirements(project.get("dependencies", [])),
            extras={name: _requirements(specs) for name, specs in extras.items()},
        )
    return found


def own_packages() -> set[str]:
    return {package.name for member in members().values() for package in member.packages}


def imported_modules(source: Path) -> set[str]:
    """Absolute module names a file imports (relative imports are the package's own)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            # `from showcase_common import snapshots` imports the module showcase_common.snapshots
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@cache
def installed() -> dict[str, list[str]]:
    return dict(packages_distributions())


def distributions_of(top_level: str) -> set[str]:
    return {canonicalize_name(d) for d in installed().get(top_level, [])}


def third_party(modules: set[str]) -> set[str]:
    tops = {name.partition(".")[0] for name in modules}
    return {t for t in tops if t not in sys.stdlib_module_names and t not in own_packages()}


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def common_module_imports() -> dict[str, set[str]]:
    common = members()[COMMON]
    src = common.path / "src"
    return {_module_name(p, src): imported_modules(p) for p in (src / COMMON_PACKAGE).rglob("*.py")}


def common_extras_of(distribution: str) -> frozenset[str]:
    """The extras of showcase-common that bring a distribution (any one will do; pyyaml comes
    with `index` and with `fly`), none when the base does."""
    common = members()[COMMON]
    if distribution in common.declared():
        return frozenset()
    found = frozenset(
        extra
        for extra, requirements in common.extras.items()
        if distribution in {canonicalize_name(r.name) for r in requirements}
    )
    assert found, f"showcase-common imports {distribution} but does not declare it"
    return found


@cache
def extras_needed_by(module: str) -> frozenset[frozenset[str]]:
    """The common extras importing `module` needs, through the common modules it imports: one
    of each set (a distribution that several extras bring is satisfied by any of them)."""
    imports = common_module_imports()
    needed: set[frozenset[str]] = set()
    seen: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        if current in seen or current not in imports:
            continue
        seen.add(current)
        # Importing a.b.c runs a/__init__ and a/b/__init__ first.
        parents = [current.rsplit(".", i)[0] for i in range(1, current.count(".") + 1)]
        pending.extend(parents)
        pending.extend(m for m in imports[current] if m.startswith(COMMON_PACKAGE))
        for top in third_party(imports[current]):
            for extras in {common_extras_of(d) for d in _declared_distribution(top, COMMON)}:
                if extras:
                    needed.add(extras)
    return frozenset(needed)


def _declared_distribution(top_level: str, member_name: str) -> set[str]:
    member = members()[member_name]
    offered = member.declared() | {
        canonicalize_name(r.name) for reqs in member.extras.values() for r in reqs
    }
    candidates = distributions_of(top_level)
    assert candidates, f"no installed distribution provides `import {top_level}`"
    chosen = candidates & offered
    assert chosen, (
        f"{member_name} imports {top_level} (from {sorted(candidates)}) but does not declare it"
    )
    return chosen


def provided_to(member: Member) -> set[str]:
    """The distributions a member may import: its own and those of the common it asks for."""
    provided = member.declared()
    if COMMON in provided:
        common = members()[COMMON]
        provided |= common.declared()
        for extra in member.common_extras():
            provided |= {canonicalize_name(r.name) for r in common.extras[extra]}
    return provided


def sources(member: Member) -> list[Path]:
    return sorted(p for package in member.packages for p in package.rglob("*.py"))


SERVICE_MEMBERS = sorted(name for name in members() if name != COMMON)


@pytest.mark.parametrize("name", SERVICE_MEMBERS)
def test_each_member_declares_the_distributions_it_imports(name: str) -> None:
    member = members()[name]
    provided = provided_to(member)
    missing: list[str] = []
    for path in sources(member):
        for top in sorted(third_party(imported_modules(path))):
            if not distributions_of(top) & provided:
                missing.append(f"{path.relative_to(ROOT)}: import {top} ({distributions_of(top)})")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("name", SERVICE_MEMBERS)
def test_each_member_asks_for_the_common_extras_of_the_modules_it_uses(name: str) -> None:
    member = members()[name]
    asked = member.common_extras()
    missing: list[str] = []
    for path in sources(member):
        for module in sorted(imported_modules(path)):
            if not module.startswith(COMMON_PACKAGE):
                continue
            lacking = [sorted(any_of) for any_of in extras_needed_by(module) if not any_of & asked]
            if lacking:
                missing.append(
                    f"{path.relative_to(ROOT)}: {module} needs {COMMON} one of {lacking}"
                )
    assert not missing, "\n".join(missing)


def test_common_declares_what_it_imports_in_its_base_or_an_extra() -> None:
    for module, imports in common_module_imports().items():
        for top in third_party(imports):
            assert _declared_distribution(top, COMMON), module


def test_the_common_base_modules_need_no_extra() -> None:
    """The event contract, subjects, settings, logs and the bus: what every part imports."""
    base = ["showcase_common", "showcase_common.events", "showcase_common.subjects"]
    base += ["showcase_common.settings", "showcase_common.logs", "showcase_common.bus"]
    base += ["showcase_common.progress", "showcase_common.urls", "showcase_common.lifecycle"]
    assert {module: extras_needed_by(module) for module in base} == dict.fromkeys(base, frozenset())


def test_importing_common_and_its_bus_imports_none_of_the_extras() -> None:
    """In a fresh interpreter: this one has imported everything the other tests use."""
    code = (
        "import sys, showcase_common, showcase_common.bus, showcase_common.events, "
        "showcase_common.settings, showcase_common.logs, showcase_common.backoff\n"
        "heavy = {'boto3', 'botocore', 'fastapi', 'starlette', 'uvicorn', 'sqlmodel', "
        "'sqlalchemy', 'jwt', 'httpx', 'yaml'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
    assert run.stdout.decode().strip() == "[]"
