"""An update body out of range is a 422 naming the field; the schema states the bounds; a
body over the cap is a 413."""

from __future__ import annotations

import warnings

import pytest
from fastapi.testclient import TestClient
from machine_agent.config import AgentSettings

from tests.support.fakes import FakeSnapshotStore
from tests.support.ports import FakeAgentPorts
from tests.unit.machine_agent.conftest import AUTH, in_process

GOOD = {"generation": 1, "object_key": "db/g1", "sha256": "a" * 64, "size": 10}
OUT_OF_RANGE = [
    ({"generation": -1334557078185077112832}, "generation"),
    ({"generation": 2**63}, "generation"),
    ({"generation": -1}, "generation"),
    ({"size": 2**64}, "size"),
    ({"sha256": "not-hex"}, "sha256"),
    ({"sha256": "A" * 64}, "sha256"),
    ({"object_key": ""}, "object_key"),
    ({"object_key": "k" * 513}, "object_key"),
]


@pytest.mark.parametrize(("change", "field"), OUT_OF_RANGE)
def test_an_out_of_range_value_is_a_422_naming_its_field(
    client: TestClient, change: dict, field: str
) -> None:
    response = client.post("/showcase/update_config", json=GOOD | change, headers=AUTH)
    assert response.status_code == 422, response.text
    assert field in [e["loc"][-1] for e in response.json()["detail"]]
    assert client.get("/showcase/status").json()["generation"] is None


def test_a_body_over_a_few_kib_is_refused(client: TestClient) -> None:
    body = GOOD | {"object_key": "k" * 8192}
    response = client.post("/showcase/update_config", json=body, headers=AUTH)
    assert response.status_code == 413


def test_the_openapi_schema_states_the_bounds_and_every_answer(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    fields = spec["components"]["schemas"]["UpdateConfig"]["properties"]
    assert (fields["generation"]["minimum"], fields["generation"]["exclusiveMaximum"]) == (
        0,
        10**12,
    )
    assert fields["sha256"]["pattern"] == "^[0-9a-f]{64}$"
    assert fields["object_key"]["maxLength"] == 512
    answers = spec["paths"]["/showcase/update_config"]["post"]["responses"]
    assert {"200", "401", "409", "413", "422", "503", "504"} <= answers.keys()


def test_every_operation_has_its_own_id_and_pages_answer_head(
    settings: AgentSettings, store: FakeSnapshotStore
) -> None:
    """GET and HEAD of a page are two routes (one `api_route` for both gave both one id, and
    FastAPI warned "Duplicate Operation ID")."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = in_process(settings, FakeAgentPorts(store=store), catch_up=False).openapi()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert "head" in spec["paths"]["/showcase/{year}/{location_key}/{key}/"]
