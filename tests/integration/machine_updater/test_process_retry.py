"""`python -m machine_updater` over a static fleet of four real agents: one down, one hung.

Both fail truthfully after their retries (the others count), and a retry naming them (an
IndexSynced with machine_ids, as the syncer emits for RetryRequested) brings them level.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
from showcase_common.bus import Publisher
from showcase_common.events import FleetUpdated, FleetUpdateFailed, IndexSynced, MachineUpdateFailed

from tests.integration.machine_updater.conftest import (
    STARTUP_S,
    SUMMER,
    EventLog,
    Index,
    UpdaterProcess,
    start_agents,
    summer_request,
    write_fleet,
)
from tests.support.agents import AgentFleet
from tests.support.metrics import Samples, moved
from tests.support.waiting import eventually


async def test_down_and_hung_machines_fail_truthfully_and_a_retry_brings_them_level(
    tmp_path: Path,
    bus: tuple,
    index: Index,
    agent_fleet: AgentFleet,
    updater_process: UpdaterProcess,
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    await asyncio.to_thread(index.publish, 1)
    agents = await asyncio.to_thread(start_agents, agent_fleet, ("iad", "ord", "sjc", "ams"))
    write_fleet(tmp_path / "fleet.yaml", agents)
    await asyncio.to_thread(updater_process.start)
    down, hung = agents[2], agents[3]
    await asyncio.to_thread(down.stop)
    assert hung.proc is not None
    os.kill(hung.proc.pid, signal.SIGSTOP)  # accepts connections, never answers

    before = await asyncio.to_thread(updater_process.metrics)
    snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
    await Publisher(js).publish(IndexSynced(snapshot=snapshot, requests=[summer_request()]))
    failed = await log.wait_for(lambda e: isinstance(e, FleetUpdateFailed))

    assert isinstance(failed, FleetUpdateFailed)
    assert failed.updated == ["m1", "m2"]
    reasons = {f.machine_id: f.error for f in failed.failures}
    assert set(reasons) == {"m3", "m4"}
    assert "could not be reached" in reasons["m3"] and "after 2 attempts" in reasons["m3"]
    assert "did not answer in time" in reasons["m4"]
    assert {e.machine_id for e in log.of(MachineUpdateFailed)} == {"m3", "m4"}
    await _counted(updater_process, before, "updater_rollouts_total", outcome="failed")
    after = await asyncio.to_thread(updater_process.metrics)
    machines = {
        (region, outcome): moved(
            before, after, "updater_machine_updates_total", region=region, outcome=outcome
        )
        for region, outcome in [("iad", "updated"), ("ord", "updated"), ("sjc", "failed")]
    }
    assert set(machines.values()) == {1}, machines
    assert moved(before, after, "updater_machine_retries_total", region="sjc") == 1  # 2 attempts

    os.kill(hung.proc.pid, signal.SIGCONT)
    await asyncio.to_thread(down.start, STARTUP_S)
    retry = IndexSynced(snapshot=snapshot, requests=[summer_request()], machine_ids=["m3", "m4"])
    await Publisher(js).publish(retry)
    done = await log.wait_for(lambda e: isinstance(e, FleetUpdated))

    assert isinstance(done, FleetUpdated) and done.machine_ids == ["m3", "m4"]
    await _counted(updater_process, before, "updater_rollouts_total", outcome="updated")
    async with httpx.AsyncClient() as http:
        for agent in agents:
            page = await http.get(agent.url + summer_request().showcase.path)
            assert page.status_code == 200, agent.agent_id
    assert await asyncio.to_thread(updater_process.stop) == 0  # drains on SIGTERM


async def _counted(process: UpdaterProcess, before: Samples, name: str, **labels: str) -> None:
    """Until the sample moved by one: it is counted just after the fleet event is published."""

    async def counted() -> bool:
        return moved(before, await asyncio.to_thread(process.metrics), name, **labels) == 1

    await eventually(counted, 30, f"{name} {labels} counted")
