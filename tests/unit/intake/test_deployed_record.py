"""After a successful roll-out the deployed state is recorded beside the index, as the Rails
`ConfigUpdateJob` copies showcases.yml to deployed-showcases.yml (issue 20, item 3)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from intake.route_deps import RouteDeps
from showcase_common import events

from tests.unit.intake.conftest import STUDIO

pytestmark = pytest.mark.asyncio


async def _request(client: httpx.AsyncClient, name: str) -> events.RequestRef:
    body = {"name": name, "location_id": 1, "start_date": "2030-05-16"}
    created = await client.post("/api/showcases", json=body, auth=STUDIO)
    assert created.status_code == 201, created.text
    showcase = events.ShowcaseRef(
        showcase_id=created.json()["showcase"]["id"],
        year=2030,
        location_key="boston",
        key="x",
        name=name,
    )
    return events.RequestRef(
        request_id=created.json()["request_id"], user="studio", showcase=showcase, redirect_url="/"
    )


async def test_a_completed_rollout_records_what_the_fleet_now_serves(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    deployed = deps.settings.deployed_showcases_file
    assert deployed.parent == deps.settings.index_db_path.parent  # beside the index
    assert not deployed.exists()
    ref = await _request(client, "Deployed Gala")
    deps.showcases_file.write_now()

    await deps.outcomes.handle(
        events.FleetUpdated(generation=2, requests=[ref], machine_ids=["m1"], duration_s=0.1)
    )

    assert "Deployed Gala" in deployed.read_text()
    # the same bytes the index host's showcases.yml holds (the Rails job copies that file)
    assert deployed.read_bytes() == deps.settings.showcases_yml_path.read_bytes()


async def test_a_failed_rollout_or_an_old_replayed_success_records_nothing(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    deployed = deps.settings.deployed_showcases_file
    ref = await _request(client, "Not Yet Gala")
    failure = events.MachineFailure(machine_id="m1", region="iad", error="down")
    await deps.outcomes.handle(
        events.FleetUpdateFailed(generation=2, requests=[ref], failures=[failure])
    )
    assert not deployed.exists()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    await deps.outcomes.handle(
        events.FleetUpdated(
            generation=1, requests=[ref], machine_ids=["m1"], duration_s=0.1, occurred_at=old
        )
    )
    assert not deployed.exists()
