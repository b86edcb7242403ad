"""A pause on real parts: `python -m machine_updater`, real agents, a real nats-server.

While paused, a new generation is announced but no agent is called; the pause survives a restart
of NATS and of the updater (the held roll-out is handed back and held again); on resume the same
roll-out completes, nobody retrying. A request synced behind the held roll-out is told it is
paused too, and completes after the resume.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from nats.js.client import JetStreamContext
from showcase_common import subjects
from showcase_common.bus import Publisher, connect
from showcase_common.events import (
    FleetUpdated,
    IndexSynced,
    RequestRef,
    RolloutPaused,
    RolloutResumed,
    ShowcaseRef,
)
from showcase_common.fleet_control import KvFleetControl, PauseState
from showcase_common.index import Showcase

from tests.integration.machine_updater.conftest import (
    SUMMER,
    EventLog,
    Index,
    UpdaterProcess,
    start_agents,
    summer_request,
    write_fleet,
)
from tests.support.agents import AgentFleet, AgentProcess
from tests.support.servers import NatsHandle
from tests.support.waiting import eventually


async def _held_again(js: JetStreamContext, deliveries: int) -> bool:
    """The updater holds the roll-out: delivered at least `deliveries` times, not acknowledged."""
    info = await js.consumer_info(subjects.STREAM, subjects.MACHINE_UPDATER_DURABLE)
    return info.num_ack_pending == 1 and (info.delivered.consumer_seq or 0) >= deliveries


async def _paused_fleet(
    tmp_path: Path, js: JetStreamContext, index: Index, fleet: AgentFleet, updater: UpdaterProcess
) -> list[AgentProcess]:
    """Two agents on generation 1, the updater running and looking at the pause every 0.2 s,
    the fleet paused by alice; returns the agents."""
    await asyncio.to_thread(index.publish, 1)
    agents = await asyncio.to_thread(start_agents, fleet, ("iad", "ord"))
    write_fleet(tmp_path / "fleet.yaml", agents)
    updater.env["PAUSE_POLL_S"] = "0.2"
    await asyncio.to_thread(updater.start)
    await KvFleetControl(js).pause(PauseState(paused_by="alice", reason="bad template"))
    return agents


async def test_pause_survives_restarts_of_nats_and_the_updater_and_resume_completes(
    tmp_path: Path,
    nats_server: NatsHandle,
    bus: tuple,
    index: Index,
    agent_fleet: AgentFleet,
    updater_process: UpdaterProcess,
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    agents = await _paused_fleet(tmp_path, js, index, agent_fleet, updater_process)
    snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
    await Publisher(js).publish(IndexSynced(snapshot=snapshot, requests=[summer_request()]))
    held = await log.wait_for(lambda e: isinstance(e, RolloutPaused))
    assert isinstance(held, RolloutPaused)
    assert held.paused_by == "alice" and held.requests == [summer_request()]

    await asyncio.to_thread(nats_server.restart)  # the broker restarts: the pause is kept
    nc = await connect(nats_server.url, "test-after-restart")
    js = nc.jetstream()
    try:
        state = await KvFleetControl(js).pause_state()
        assert state is not None and state.paused_by == "alice"

        await asyncio.to_thread(updater_process.stop)  # and so does the updater
        await asyncio.to_thread(updater_process.start)
        await eventually(lambda: _held_again(js, 2), 60, "the new updater holds the roll-out")
        for agent in agents:  # held means held: nobody was updated
            assert (await asyncio.to_thread(agent.status))["generation"] == 1

        after = EventLog()
        sub = await js.subscribe(subjects.ALL_SUBJECTS, cb=after.on_msg, ordered_consumer=True)
        assert await KvFleetControl(js).resume() is not None
        done = await after.wait_for(lambda e: isinstance(e, FleetUpdated), 90)
        assert isinstance(done, FleetUpdated) and done.generation == 2
        assert done.requests == [summer_request()]
        assert after.of(RolloutResumed)
        assert len(after.of(RolloutPaused)) == 1  # the same pause: announced once, not per restart
        for agent in agents:
            assert (await asyncio.to_thread(agent.status))["generation"] == 2
        await sub.unsubscribe()
    finally:
        await nc.close()


AUTUMN = Showcase(
    id=6, location_id=1, year=2026, key="autumn", name="Autumn Showcase", order=6, date="2026-10-04"
)


def autumn_request() -> RequestRef:
    showcase = ShowcaseRef(
        showcase_id=6, year=2026, location_key="boston", key="autumn", name="Autumn Showcase"
    )
    return RequestRef(request_id="req-autumn", user="studio", showcase=showcase, redirect_url="/")


async def test_a_request_synced_behind_a_held_rollout_is_told_it_is_paused_and_completes(
    tmp_path: Path,
    bus: tuple,
    index: Index,
    agent_fleet: AgentFleet,
    updater_process: UpdaterProcess,
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    agents = await _paused_fleet(tmp_path, js, index, agent_fleet, updater_process)
    summer = await asyncio.to_thread(index.publish, 2, SUMMER)
    await Publisher(js).publish(IndexSynced(snapshot=summer, requests=[summer_request()]))
    await log.wait_for(lambda e: isinstance(e, RolloutPaused))
    autumn = await asyncio.to_thread(index.publish, 3, SUMMER, AUTUMN)  # waits in the stream
    await Publisher(js).publish(IndexSynced(snapshot=autumn, requests=[autumn_request()]))

    behind = await log.wait_for(
        lambda e: isinstance(e, RolloutPaused) and e.requests == [autumn_request()]
    )
    assert isinstance(behind, RolloutPaused)
    assert behind.generation == 3 and behind.paused_by == "alice"
    for agent in agents:
        assert (await asyncio.to_thread(agent.status))["generation"] == 1

    assert await KvFleetControl(js).resume() is not None
    await log.wait_for(lambda e: isinstance(e, RolloutResumed) and e.requests == [autumn_request()])
    done = await log.wait_for(
        lambda e: isinstance(e, FleetUpdated) and autumn_request() in e.requests, 90
    )
    assert isinstance(done, FleetUpdated) and done.generation == 3
    assert len([e for e in log.of(RolloutPaused) if autumn_request() in e.requests]) == 1
    for agent in agents:
        assert (await asyncio.to_thread(agent.status))["generation"] == 3
