"""Real agent processes over real HTTP: an update, and catching up at boot."""

from __future__ import annotations

from pathlib import Path

import httpx
from showcase_common.index import Showcase
from showcase_common.settings import S3Settings

from tests.support.agents import (
    AgentFleet,
    publish_snapshot,
    sample_rows,
    snapshot_store,
    write_index,
)
from tests.support.metrics import parse_samples

AUTUMN = Showcase(
    id=11,
    location_id=2,
    year=2026,
    key="autumn",
    name="Autumn Gala",
    order=6,
    date="2026-10-03",
)


def test_an_update_over_http_then_a_stopped_agent_catches_up_at_boot(
    agent_fleet: AgentFleet, s3_settings: S3Settings, tmp_path: Path
) -> None:
    store = snapshot_store(s3_settings)
    write_index(tmp_path / "one.sqlite3", *sample_rows())
    first = publish_snapshot(store, tmp_path / "one.sqlite3", 1)
    agent = agent_fleet.start("m1", "ord")
    agent.wait_for_generation(1)  # it caught up with the pointer at boot

    before = _outcomes(agent.url)
    assert agent.update(first, secret="wrong").status_code == 401
    assert agent.update(first).json()["changed"] is False
    after = _outcomes(agent.url)  # the process serves its own /metrics
    moved = {k: delta for k in after if (delta := after[k] - before.get(k, 0.0))}
    assert moved == {"unauthorized": 1, "no_op": 1}
    agent.stop()
    # a roll-out happens while the machine is stopped
    write_index(tmp_path / "two.sqlite3", *sample_rows([AUTUMN]))
    publish_snapshot(store, tmp_path / "two.sqlite3", 2)
    agent.start()

    agent.wait_for_generation(2)
    page = httpx.get(agent.url + "/showcase/2026/chicago/autumn/")
    assert page.status_code == 200 and "Autumn Gala" in page.text
    assert "Autumn Gala" in httpx.get(agent.url + "/showcase/studios/chicago/").text
    assert httpx.get(agent.url + "/readyz").json()["status"] == "ready"
    assert '"applied generation 2' in agent.logs()


def test_with_the_store_unreachable_it_starts_and_serves_what_it_has(
    agent_fleet: AgentFleet, s3_settings: S3Settings
) -> None:
    unreachable = s3_settings.model_copy(update={"s3_endpoint_url": "http://127.0.0.1:9"})
    agent = agent_fleet.start("m2", "iad", s3_settings=unreachable)

    assert agent.status() == {"machine_id": "m2", "region": "iad", "generation": None}
    ready = httpx.get(agent.url + "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"s3": "unavailable"}  # which dependency...
    assert "127.0.0.1" not in ready.text and "Errno" not in ready.text  # ...not its error text
    assert ready.json()["catch_up"] in {"pending", "retrying"}


def _outcomes(url: str) -> dict[str, float]:
    """`agent_updates_total` by outcome, from the agent's `/metrics`."""
    response = httpx.get(url + "/metrics")
    assert response.status_code == 200
    return {
        dict(labels)["outcome"]: value
        for (name, labels), value in parse_samples(response.text).items()
        if name == "agent_updates_total"
    }
