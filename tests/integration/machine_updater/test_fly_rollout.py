"""A roll-out through a fake Fly (Machines API + public URL) to four real agent processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from machine_updater.bootstrap import build, ports
from machine_updater.config import UpdaterSettings
from showcase_common import runner
from showcase_common.bus import Publisher
from showcase_common.events import FleetUpdated, IndexSynced, MachineUpdated
from showcase_common.runner import Service

from tests.integration.machine_updater.conftest import (
    STARTUP_S,
    SUMMER,
    EventLog,
    Index,
    spring_request,
    start_agents,
    summer_request,
    wait_consumed,
)
from tests.support.agents import AgentFleet
from tests.support.fake_fly import FakeFly

UPDATE = "/showcase/update_config"


@pytest.fixture
async def updater(
    nats_url: str, fake_fly: FakeFly, agent_fleet: AgentFleet
) -> AsyncIterator[Service]:
    settings = UpdaterSettings(
        nats_url=nats_url,
        fleet_file=None,
        fly_app_name=fake_fly.app_name,
        fly_api_token=fake_fly.token,
        fly_api_url=fake_fly.api_url,
        fly_app_url=fake_fly.app_url,
        machine_update_secret=agent_fleet.secret,
        retry_initial_s=0.05,
        canary=False,  # all at once: the parallelism is what is tested here
    )
    made = ports(settings)
    service = build(settings, made)
    http = runner.server(settings, service, listen_port=0)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.serve(settings, service, stop, link=made.nats, http=http))
    assert made.nats is not None
    await asyncio.wait_for(made.nats.wait_up(), 30)
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_fly_fleet_updated_in_parallel_stopped_one_catches_up_replay_applies_nothing(
    bus: tuple, index: Index, agent_fleet: AgentFleet, fake_fly: FakeFly, updater: Service
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    # (the agents' helpers block: they run in threads so the updater's event loop keeps going)
    first = await asyncio.to_thread(index.publish, 1)
    running = await asyncio.to_thread(start_agents, agent_fleet, ("iad", "ord", "sjc"))
    stopped = agent_fleet.create("m4", "ams")
    for agent in running:
        await asyncio.to_thread(
            agent.wait_for_generation, 1, STARTUP_S
        )  # booted onto the newest snapshot
        fake_fly.add(agent.agent_id, agent.region, agent.url)
    fake_fly.add(stopped.agent_id, stopped.region, stopped.url, state="stopped")

    # generation 2 adds the summer showcase; the updates are held until all three are in flight
    fake_fly.hold_updates_until = 3
    snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
    synced = IndexSynced(snapshot=snapshot, requests=[summer_request()])
    await Publisher(js).publish(synced)
    fleet = await log.wait_for(lambda e: isinstance(e, FleetUpdated))

    assert isinstance(fleet, FleetUpdated)
    assert fleet.machine_ids == ["m1", "m2", "m3"] and fleet.skipped == ["m4"]
    assert fake_fly.max_concurrent_updates == 3
    assert [e.done for e in log.of(MachineUpdated)] == [1, 2, 3]
    async with httpx.AsyncClient() as http:
        for agent in running:
            status = (await http.get(agent.url + "/showcase/status")).json()
            page = await http.get(agent.url + summer_request().showcase.path)
            assert status["generation"] == 2
            assert page.status_code == 200 and "Summer Showcase" in page.text
    assert fake_fly.calls("m4") == 0

    # the stopped machine boots and brings itself to the newest generation
    await asyncio.to_thread(stopped.start, STARTUP_S)
    fake_fly.set_state("m4", "started")
    await asyncio.to_thread(stopped.wait_for_generation, 2, STARTUP_S)

    # a replay of the same event, and an older one after it: no machine applies anything
    # again (each is asked once and answers with a no-op; no status read before)
    agents = [*running, stopped]
    applied_before = [(await asyncio.to_thread(a.update_outcomes)).get("applied") for a in agents]
    calls_before = {m: fake_fly.calls(m, "POST", UPDATE) for m in ("m1", "m2", "m3", "m4")}
    replay = {"Nats-Msg-Id": f"replay:{synced.event_id}"}  # forced past de-duplication
    await js.publish(synced.subject, synced.model_dump_json().encode(), headers=replay)
    older = IndexSynced(snapshot=first, requests=[spring_request()])
    ack = await Publisher(js).publish(older)
    await wait_consumed(js, ack.seq)
    applied_after = [(await asyncio.to_thread(a.update_outcomes)).get("applied") for a in agents]
    assert applied_after == applied_before
    calls = {m: fake_fly.calls(m, "POST", UPDATE) - calls_before[m] for m in calls_before}
    assert set(calls.values()) <= {1, 2}  # one call per event (both may be one batch)
    assert all(fake_fly.calls(m, "GET", "/showcase/status") == 0 for m in calls_before)
    done = await log.wait_for(
        lambda e: isinstance(e, FleetUpdated) and spring_request() in e.requests
    )
    assert isinstance(done, FleetUpdated) and done.machine_ids == ["m1", "m2", "m3", "m4"]
