"""The agent serves Starlette routes and documents them with FastAPI declarations built on
demand (`machine_agent.openapi_doc`): the two must describe the same surface."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from machine_agent.api import ROUTES
from starlette.routing import Route

from tests.unit.machine_agent.conftest import AUTH

HEALTH = {("/healthz", "get"), ("/readyz", "get")}
"""Added by the runner to every service's app; documented as they were."""


def _served() -> set[tuple[str, str]]:
    served = set()
    for route in ROUTES:
        assert isinstance(route, Route) and route.methods is not None
        served |= {(route.path, method.lower()) for method in route.methods}
    return served


def test_every_documented_operation_is_served_and_every_served_one_documented(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    documented = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert documented - HEALTH == _served()


def test_each_documented_operation_answers_as_served(client: TestClient) -> None:
    """Every documented path answers (a page 404 in the documented JSON shape, the status
    and health 200, the update 422 for an empty body): none is the router's bare 404."""
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        url = re.sub(r"\{[a-z_]+\}", "x", path)
        for method in operations:
            response = client.request(method.upper(), url, headers=AUTH)
            assert response.status_code in {200, 404, 422}, (method, path, response.text)
            if response.status_code == 404:  # a page this machine does not have
                assert method == "head" or response.json() == {
                    "detail": "no such page on this machine"
                }


def test_the_viewers_are_served_too(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        answer = client.get(path)
        assert answer.status_code == 200 and "machine-agent" in answer.text
    assert client.post("/openapi.json").status_code == 405
