"""An outside fuzzer on a real agent process (a real S3 store behind it): schemathesis sends
`POST /showcase/update_config` bodies generated from the agent's own OpenAPI document, with
the bearer secret. No 5xx, no undocumented status, no schema-valid update refused as invalid
(tests/support/fuzz.py; seed: FUZZ_SEED). And an update naming an object the store does not
hold is a 404 saying so, not a 503."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from showcase_common.events import Snapshot
from showcase_common.index import Location
from showcase_common.snapshots import SnapshotStore

from tests.support.agents import (
    AgentFleet,
    AgentProcess,
    publish_snapshot,
    snapshot_store,
    write_index,
)
from tests.support.fuzz import _node_id_for_schemathesis, fuzz_call, fuzz_settings, load  # noqa: F401
from tests.support.servers import fresh_bucket


class _Bearer(requests.auth.AuthBase):
    """The update secret on every request (over any Authorization the fuzzer drew)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.secret}"
        return request


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str
) -> Iterator[tuple[AgentProcess, SnapshotStore]]:
    """One agent for the module, serving generation 1 (so older and equal generations meet
    the 409 rule, newer ones the store's absence)."""
    base = tmp_path_factory.mktemp("fuzzed-agent")
    settings = fresh_bucket(s3_endpoint)
    store = snapshot_store(settings)
    index = base / "index.sqlite3"
    write_index(index, [Location(id=1, key="boston", name="Boston", region="iad")])
    publish_snapshot(store, index, 1)
    fleet = AgentFleet(base / "agents", settings)
    try:
        agent = fleet.start("fuzzed", "iad")
        agent.wait_for_generation(1)
        yield agent, store
    finally:
        fleet.close()


@pytest.fixture(scope="module")
def agent_schema(served: tuple[AgentProcess, SnapshotStore]) -> schemathesis.BaseSchema:
    return load(served[0].url)


schema = schemathesis.pytest.from_fixture("agent_schema")


@schema.include(path="/showcase/update_config").parametrize()
@fuzz_settings(max_examples=40)
def test_update_config_answers_as_its_openapi_document_says(
    case: schemathesis.Case, served: tuple[AgentProcess, SnapshotStore]
) -> None:
    agent, store = served
    meta = case.meta
    positive = meta is not None and meta.generation.mode.is_positive
    generation = case.body.get("generation") if isinstance(case.body, dict) else None
    if (
        positive
        and isinstance(case.body, dict)
        and isinstance(generation, int | float)
        and float(generation).is_integer()
    ):
        # `object_key` must be the store's key for `generation` (checked, 422): a relation
        # between two fields JSON Schema cannot state, so schema-valid bodies are given it.
        case.body["object_key"] = store.generation_key(int(generation))
    with requests.Session() as session:
        session.auth = _Bearer(agent.secret or "")
        fuzz_call(case, session)


def test_an_update_naming_an_object_not_in_the_store_is_a_404(
    served: tuple[AgentProcess, SnapshotStore],
) -> None:
    agent, store = served
    missing = Snapshot(generation=7, object_key=store.generation_key(7), sha256="0" * 64, size=4096)
    response = agent.update(missing)
    assert response.status_code == 404, response.text
    assert "not in the store" in response.json()["detail"]
    assert agent.status()["generation"] == 1
