"""Canary first on real parts: `python -m machine_updater` and three sidecar agents, each beside
a stand-in Rails application whose prerender is a real script. The canary's prerender fails: the
roll-out halts there, the other machines are never called and keep serving the previous
generation, and the verdict says the canary halted it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
from devstack.ports import free_port
from showcase_common.bus import Publisher
from showcase_common.events import (
    CanaryStarted,
    FleetUpdateFailed,
    IndexSynced,
    MachineUpdated,
)

from tests.integration.machine_agent.standin_rails import StandIn, standin_rails
from tests.integration.machine_updater.conftest import (
    STARTUP_S,
    SUMMER,
    EventLog,
    Index,
    UpdaterProcess,
    summer_request,
    write_fleet,
)
from tests.support.agents import AgentFleet

SPRING = "/showcase/2026/boston/spring/"  # in generation 1 already
SUMMER_PATH = summer_request().showcase.path  # new in generation 2


async def test_a_canary_whose_prerender_fails_halts_with_the_others_untouched(
    tmp_path: Path,
    bus: tuple,
    index: Index,
    agent_fleet: AgentFleet,
    updater_process: UpdaterProcess,
) -> None:
    _, js, log = bus
    assert isinstance(log, EventLog)
    await asyncio.to_thread(index.publish, 1)
    with contextlib.ExitStack() as apps:
        stand_ins: dict[str, StandIn] = {}
        agents = []
        for n, region in enumerate(("iad", "ord", "sjc"), start=1):
            app = apps.enter_context(standin_rails(tmp_path / f"rails-{n}", free_port()))
            stand_ins[f"m{n}"] = app
            env = {
                "AGENT_RAILS_DB_DIR": str(app.db_dir),
                "AGENT_POST_APPLY_COMMANDS": json.dumps([app.command()]),
                "AGENT_COMMAND_TIMEOUT_S": "20",
                "AGENT_APP_URL": app.url,
                "AGENT_PAGE_CHECK_TIMEOUT_S": "2",
            }
            agent = agent_fleet.create(f"m{n}", region, env=env)
            agent.spawn()
            agents.append(agent)
        for agent in agents:
            await asyncio.to_thread(agent.wait_ready, STARTUP_S)
            await asyncio.to_thread(agent.wait_for_generation, 1, STARTUP_S)
        write_fleet(tmp_path / "fleet.yaml", agents)
        stand_ins["m1"].mode = "fail"  # iad: the first in region order, the canary
        updater_process.env["CANARY"] = "true"
        await asyncio.to_thread(updater_process.start)

        snapshot = await asyncio.to_thread(index.publish, 2, SUMMER)
        await Publisher(js).publish(IndexSynced(snapshot=snapshot, requests=[summer_request()]))
        verdict = await log.wait_for(lambda e: isinstance(e, FleetUpdateFailed), 120)

        assert isinstance(verdict, FleetUpdateFailed)
        assert verdict.halted_by_canary and verdict.untouched == ["m2", "m3"]
        assert [(f.machine_id, f.reason) for f in verdict.failures] == [("m1", "command_failed")]
        assert [e.machine_id for e in log.of(CanaryStarted)] == ["m1"]
        assert log.of(MachineUpdated) == []
        async with httpx.AsyncClient(timeout=10) as http:
            for agent in agents[1:]:  # never called: the previous generation, its pages served
                assert (await asyncio.to_thread(agent.status))["generation"] == 1
                assert stand_ins[agent.agent_id].last_run()["SHOWCASE_GENERATION"] == "1"
                assert (await http.get(agent.url + SPRING)).status_code == 200
                assert (await http.get(agent.url + SUMMER_PATH)).status_code == 404
        assert (await asyncio.to_thread(agents[0].status))["generation"] == 1  # not counted
