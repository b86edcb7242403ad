"""The agent's `/metrics`: every update_config outcome, the apply phases, pages and generation.

Read over HTTP from the app, as Prometheus would; deltas, since the registry is process-wide.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from machine_agent.config import AgentSettings
from pydantic import SecretStr

from tests.support.fakes import FakeSnapshotStore
from tests.support.metrics import Samples, moved, parse_samples
from tests.support.ports import FakeAgentPorts
from tests.unit.machine_agent.conftest import Publish, in_process, update


def _scrape(client: TestClient) -> Samples:
    response = client.get("/metrics", follow_redirects=False)  # served at /metrics itself
    assert response.status_code == 200
    return parse_samples(response.text)


def test_update_outcomes_are_counted(
    client: TestClient, publish: Publish, store: FakeSnapshotStore
) -> None:
    first, second = publish(1), publish(2)
    tampered = publish(3)
    store.objects[tampered.object_key] += b"tampered"
    before = _scrape(client)

    assert update(client, first).status_code == 200  # applied
    assert update(client, first).status_code == 200  # no_op
    assert update(client, first, {"Authorization": "Bearer nope"}).status_code == 401
    assert update(client, tampered).status_code == 422
    store.down = True
    assert update(client, second).status_code == 503
    store.down = False
    assert update(client, second).status_code == 200  # applied
    assert update(client, first).status_code == 409

    after = _scrape(client)
    outcomes = ["applied", "no_op", "unauthorized", "refused", "store_unavailable", "stale"]
    counted = {o: moved(before, after, "agent_updates_total", outcome=o) for o in outcomes}
    assert counted == {o: (2 if o == "applied" else 1) for o in outcomes}


def test_an_apply_times_its_phases_counts_its_pages_and_sets_the_generation(
    client: TestClient, publish: Publish
) -> None:
    before = _scrape(client)

    body = update(client, publish(4)).json()

    after = _scrape(client)
    for phase in ("download", "verify", "swap", "regenerate", "prerender", "total"):
        assert moved(before, after, "agent_apply_seconds_count", phase=phase) == 1, phase
    assert moved(before, after, "agent_pages_rendered_total") == body["pages_rendered"] > 0
    assert after["agent_generation", frozenset()] == 4


def test_with_a_metrics_token_only_its_bearer_may_scrape(
    settings: AgentSettings, store: FakeSnapshotStore
) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    with TestClient(in_process(guarded, FakeAgentPorts(store=store), catch_up=False)) as client:
        refused = [
            client.get("/metrics", headers=headers).status_code
            for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "scrape-me"})
        ]
        allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        pages = client.get("/showcase/status")  # the rest of the agent is unaffected
    assert refused == [401, 401, 401]
    assert allowed.status_code == 200 and "agent_generation" in allowed.text
    assert pages.status_code == 200
