"""The topology declaration (`showcase_common.topology`) is what the code does, and the documents
made from it are current:

- every service's consumers, as its `build` makes them (with its fakes), are exactly the durables,
  event types and handlers declared for it;
- the events a package constructs are exactly those declared as its publications;
- docs/ARCHITECTURE.md's bus table is `showcasectl topology --markdown`;
- docs/asyncapi.yaml is `showcasectl asyncapi`, valid against the official AsyncAPI 3.0.0 schema,
  with every `$ref` resolving.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from showcase_common.bus.spec import describe
from showcase_common.docs import section
from showcase_common.events import EVENT_TYPES
from showcase_common.topology import PARTIES
from showcasectl import asyncapi
from showcasectl.commands import topology

from tests.support import ports as fake_ports
from tests.unit.workspace.test_composition_roots import (
    IDS,
    ROOT,
    Root,
    _ports_type,
    _settings_type,
    roots,
)

ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
SCHEMA = ROOT / "tests" / "support" / "asyncapi" / "asyncapi-3.0.0.schema.json"
EVENT_NAMES = {e.__name__ for e in EVENT_TYPES}


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_each_service_consumes_what_the_topology_declares(root: Root, settings_env: None) -> None:
    fake = getattr(fake_ports, f"Fake{_ports_type(root).__name__}")
    service = root.bootstrap.build(_settings_type(root)(), fake())
    built = {
        (spec.durable, frozenset(spec.table), describe(h) + (" (batch)" if spec.batched else ""))
        for spec in service.consumers
        for h in set(spec.table.values())
    }
    declared = {
        (c.durable, frozenset(c.events), c.handler)
        for p in PARTIES
        if p.package == root.package
        for c in p.consumes
    }
    assert built == declared


def _constructed(package: str) -> set[str]:
    """Names of event classes called (constructed) anywhere in the package's source."""
    [src] = [p for p in ROOT.glob(f"*/*/src/{package}") if p.is_dir()]
    names: set[str] = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in EVENT_NAMES:
                    names.add(name)
    return names


@pytest.mark.parametrize("package", sorted({p.package for p in PARTIES}))
def test_each_package_constructs_the_events_it_is_declared_to_publish(package: str) -> None:
    declared = {e.__name__ for p in PARTIES if p.package == package for e in p.publishes}
    assert _constructed(package) == declared


def test_every_event_has_a_publisher_and_every_durable_one_owner() -> None:
    published = {e for p in PARTIES for e in p.publishes}
    assert set(EVENT_TYPES) == published
    durables = [c.durable for p in PARTIES for c in p.consumes]
    assert len(durables) == len(set(durables))


def test_the_architecture_table_is_current() -> None:
    current = section(ARCHITECTURE.read_text(), topology.SECTION)
    assert current == topology.markdown(), (
        "docs/ARCHITECTURE.md's bus table is out of date: run `make docs`"
    )


def test_the_asyncapi_document_is_current() -> None:
    assert ASYNCAPI.read_text() == topology.dump_asyncapi(), (
        "docs/asyncapi.yaml is out of date: run `make docs`"
    )


def test_the_asyncapi_document_is_valid_asyncapi_3() -> None:
    document = yaml.safe_load(ASYNCAPI.read_text())
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_resolves_and_every_subject_is_a_channel() -> None:
    document = asyncapi.document()
    for ref in set(_refs(document)):
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"{ref} does not resolve"
            target = target[part]
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {e.subject for e in EVENT_TYPES}
    for party in PARTIES:
        for consumes in party.consumes:
            for event in consumes.events:
                key = asyncapi.consume_operation_id(party, consumes, event)
                assert document["operations"][key]["x-durable"] == consumes.durable


def test_a_drifting_declaration_is_caught() -> None:
    """The checks above can fail: a package that constructs an undeclared event is seen."""
    assert "ShowcaseCreated" in _constructed("intake")
    assert "ShowcaseCreated" not in _constructed("progress_gateway")


def test_write_puts_the_current_table_between_the_markers(tmp_path: Path) -> None:
    """`showcasectl topology --write FILE` (what `make docs` runs) mends a stale table and
    leaves the rest of the file as it was."""
    doc = tmp_path / "ARCHITECTURE.md"
    doc.write_text("before\n<!-- topology:start -->\n| stale |\n<!-- topology:end -->\nafter\n")
    topology.topology(write=doc)
    assert section(doc.read_text(), topology.SECTION) == topology.markdown()
    assert doc.read_text().startswith("before\n") and doc.read_text().endswith("\nafter\n")
