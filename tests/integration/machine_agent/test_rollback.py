"""Rollbacks on a real agent process with real S3: an older generation only with an authorisation
signed with the update secret; unsigned, forged or stale ones refused; and a machine that boots
while the fleet is pinned catches up to the pinned generation, not the newest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import httpx
from showcase_common import rollback_auth
from showcase_common.events import Snapshot
from showcase_common.index import Showcase
from showcase_common.settings import S3Settings
from showcase_common.snapshots import Pin

from tests.support.agents import (
    DEFAULT_SECRET,
    AgentFleet,
    AgentProcess,
    publish_sample,
    snapshot_store,
)
from tests.support.waiting import wait_until

SUMMER = Showcase(id=10, location_id=1, year=2026, key="summer", name="Summer Sizzle", order=5)
SUMMER_PAGE = "/showcase/2026/boston/summer/"


def _rollback(
    agent: AgentProcess, snapshot: Snapshot, authorisation: Mapping[str, object] | None
) -> httpx.Response:
    body = snapshot.model_dump(mode="json")
    if authorisation is not None:
        body["rollback"] = dict(authorisation)
    return httpx.post(
        agent.url + "/showcase/update_config",
        json=body,
        headers={"Authorization": f"Bearer {DEFAULT_SECRET}"},
        timeout=75,
    )


def _page(agent: AgentProcess) -> int:
    return httpx.get(agent.url + SUMMER_PAGE, timeout=5).status_code


def test_only_a_signed_fresh_rollback_takes_an_agent_back(
    agent_fleet: AgentFleet, s3_settings: S3Settings, tmp_path: Path
) -> None:
    store = snapshot_store(s3_settings)
    g1 = publish_sample(store, tmp_path, 1)
    publish_sample(store, tmp_path, 2, SUMMER)
    agent = agent_fleet.start("m1", "iad")
    agent.wait_for_generation(2)
    assert _page(agent) == 200

    plain = agent.update(g1)  # a plain update naming an older generation: refused as always
    assert plain.status_code == 409 and plain.json()["generation"] == 2

    forged = rollback_auth.sign("not-the-update-secret-but-as-long-as-it", g1, "mallory")
    answer = _rollback(agent, g1, forged.model_dump(mode="json"))
    assert answer.status_code == 403
    assert "rollback refused: its signature does not verify" in answer.json()["detail"]

    altered = rollback_auth.sign(DEFAULT_SECRET, g1, "alice").model_copy(update={"actor": "eve"})
    assert _rollback(agent, g1, altered.model_dump(mode="json")).status_code == 403

    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    stale = rollback_auth.sign(DEFAULT_SECRET, g1, "alice", now=old)
    answer = _rollback(agent, g1, stale.model_dump(mode="json"))
    assert answer.status_code == 403 and "too old" in answer.json()["detail"]

    unsigned = {"actor": "alice", "issued_at": dt.datetime.now(dt.UTC).isoformat()}
    assert _rollback(agent, g1, unsigned).status_code == 422  # no signature at all
    assert agent.status()["generation"] == 2 and _page(agent) == 200  # nothing changed

    signed = rollback_auth.sign(DEFAULT_SECRET, g1, "alice")
    answer = _rollback(agent, g1, signed.model_dump(mode="json"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["generation"] == 1
    assert agent.status()["generation"] == 1
    assert _page(agent) == 404  # generation 1 has no summer showcase
    assert "rollback to generation 1 authorised by alice" in agent.logs()


def test_a_machine_booting_while_pinned_catches_up_to_the_pinned_generation(
    agent_fleet: AgentFleet, s3_settings: S3Settings, tmp_path: Path
) -> None:
    store = snapshot_store(s3_settings)
    g1 = publish_sample(store, tmp_path, 1)
    publish_sample(store, tmp_path, 2, SUMMER)
    stopped = agent_fleet.start("m1", "iad")
    stopped.wait_for_generation(2)
    stopped.stop()  # down while the operators roll back

    _, etag = store.read_pointer()
    store.set_pin(Pin(snapshot=g1, hold=True, by="alice", reason="bad summer"), etag)
    pointer, _ = store.read_pointer()
    assert pointer is not None and pointer.generation == 2 and pointer.target == g1

    fresh = agent_fleet.start("m2", "ord")  # a new machine: to the pin, not the newest
    fresh.wait_for_generation(1)
    stopped.start()  # served 2 before: goes back to the pin
    _until_generation(stopped, 1)
    for agent in (fresh, stopped):
        assert agent.status()["generation"] == 1
        assert _page(agent) == 404
    assert "the fleet is pinned to generation 1" in stopped.logs()

    _, etag = store.read_pointer()  # unpinned: the next boot catches up to the newest again
    store.set_pin(None, etag)
    fresh.stop()
    fresh.start()
    fresh.wait_for_generation(2)
    assert _page(fresh) == 200


def _until_generation(agent: AgentProcess, generation: int) -> None:
    wait_until(
        lambda: agent.status().get("generation") == generation,
        90,
        f"agent {agent.agent_id} back at generation {generation}",
    )
