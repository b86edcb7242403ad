"""Every service's OpenAPI document, as its `build` makes the app (with its fakes):

- it is built without a single warning (FastAPI's "Duplicate Operation ID" among them: an
  operation id given twice names two routes the same in every generated client), and its
  operation ids are unique;
- every request body has at least one example, and each example is valid against the body's
  own schema (the documented rules the fuzzer holds the service to:
  tests/integration/*/test_schemathesis.py sends them to a real service).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from intake.web.openapi import EXAMPLE_NAMES, add_examples
from showcase_common.runner import http_app

from tests.support import ports as fake_ports
from tests.unit.workspace.test_composition_roots import (
    IDS,
    Root,
    _ports_type,
    _settings_type,
    roots,
)

ROOT = Path(__file__).resolve().parents[3]


def _document(root: Root) -> dict[str, Any]:
    """The service's OpenAPI document, every warning an error."""
    fake = getattr(fake_ports, f"Fake{_ports_type(root).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        service = root.bootstrap.build(_settings_type(root)(), fake())
        app = http_app(service)  # FastAPI's, or the agent's AgentApp (a Starlette app)
        document: dict[str, Any] = app.openapi()  # type: ignore[attr-defined]  # both have it
        return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_the_document_builds_without_warnings_and_ids_are_unique(
    root: Root, settings_env: None
) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(_document(root))]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_every_request_body_has_examples_its_schema_accepts(root: Root, settings_env: None) -> None:
    document = _document(root)
    checked = []
    for path, method, operation in _operations(document):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            where = f"{method.upper()} {path} ({media_type})"
            schema = {**content["schema"], "components": document.get("components", {})}
            examples = [e["value"] for e in content.get("examples", {}).values()]
            examples += content["schema"].get("examples", [])
            if "$ref" in content["schema"]:
                name = content["schema"]["$ref"].rsplit("/", 1)[-1]
                examples += document["components"]["schemas"][name].get("examples", [])
            assert examples, f"{where} has no example"
            for example in examples:
                jsonschema.Draft202012Validator(schema).validate(example)
            checked.append(where)
    if root.package in {"intake", "machine_agent"}:
        assert checked, f"{root.package}: no request body found"


def test_intakes_examples_name_a_start_date_to_come_and_a_studio_its_own_location() -> None:
    document: dict[str, Any] = {
        "paths": {path: {"post": {"requestBody": {"content": {}}}} for path in EXAMPLE_NAMES}
    }
    document["paths"]["/api/showcases"]["post"]["requestBody"]["content"] = {"application/json": {}}
    add_examples(document, today=dt.date(2026, 12, 3))
    content = document["paths"]["/api/showcases"]["post"]["requestBody"]["content"]
    studio = content["application/json"]["examples"]["studio"]["value"]
    assert studio == {"name": "Spring Showcase", "location_id": 1, "start_date": "2027-05-16"}
