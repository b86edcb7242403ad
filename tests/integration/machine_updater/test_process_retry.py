"""`python -m machine_updater` over a static fleet of four real agents: one down, one hung.

Both fail truthfully after their retries (the others count), and a retry naming them (an
IndexSynced with machine_ids, as the syncer emits for RetryRequested) brings them level.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from devstack.ports import free_port
from showcase_common.bus import Publisher
from showcase_common.events import FleetUpdated, FleetUpdateFailed, IndexSynced, MachineUpdateFailed

from tests.integration.machine_updater.conftest import (
    STARTUP_S,
    SUMMER,
    EventLog,
    Index,
    start_agents,
    summer_request,
)
from tests.support.agents import AgentFleet, AgentProcess, wait_until
from tests.support.metrics import Samples, moved, parse_samples
from tests.support.waiting import eventually


class UpdaterProcess:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log_path = tmp / "updater.log"
        self.env = {**os.environ, **env, "UPDATER_PORT": str(self.port), "LOG_JSON": "false"}
        self.cwd = tmp  # away from any .env of the checkout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "machine_updater"],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(lambda: self._answers("/readyz"), STARTUP_S, "machine-updater ready")

    def _answers(self, path: str) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"machine-updater exited:\n{self.log_path.read_text()}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def metrics(self) -> Samples:
        """`/metrics` on the health port, as sample values keyed by (name, labels)."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        response = httpx.get(url, timeout=5)
        assert response.status_code == 200
        return parse_samples(response.text)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def updater_process(
    tmp_path: Path, nats_url: str, agent_fleet: AgentFleet
) -> Iterator[UpdaterProcess]:
    env = {
        "NATS_URL": nats_url,
        "FLEET_FILE": str(tmp_path / "fleet.yaml"),
        "MACHINE_UPDATE_SECRET": agent_fleet.secret,
        "MACHINE_ATTEMPTS": "2",
        "RETRY_INITIAL_S": "0.05",
        "PROBE_TIMEOUT_S": "2",
    }
    process = UpdaterProcess(tmp_path, env)
    yield process
    if process.proc is not None:
        process.stop()


def write_fleet(path: Path, agents: list[AgentProcess]) -> None:
    machines = [{"id": a.agent_id, "region": a.region, "url": a.url} for a in agents]
    path.write_text(yaml.safe_dump({"machines": machines}))


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
