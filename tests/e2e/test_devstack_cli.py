"""`make run`'s entry (`python -m devstack`) as a user runs it: ports from the environment,
everything healthy, Ctrl-C stops every child (no orphans), and a second run finds its data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from devstack.config import StackConfig
from devstack.ports import free_port
from devstack.process import http_ok, wait_until

pytestmark = pytest.mark.e2e

_START_S = 240.0  # generous: a loaded 2-core CI box imports eight Pythons at once


def _children_of(pid: int) -> set[int]:
    """Every live descendant of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _env(config: StackConfig) -> dict[str, str]:
    return os.environ | {
        "DEVSTACK_DATA_DIR": str(config.data_dir),
        "INTAKE_PORT": str(config.intake_port),
        "GATEWAY_PORT": str(config.gateway_port),
        "SYNCER_PORT": str(config.syncer_port),
        "UPDATER_PORT": str(config.updater_port),
        "NATS_PORT": str(free_port()),  # the fixture's config lets nats pick; here we must name one
        "NATS_MONITOR_PORT": str(config.nats_monitor_port),
        "S3_PORT": str(config.s3_port),
        "SMTP_PORT": str(config.smtp_port),
        "AGENT_PORTS": ",".join(str(a.port) for a in config.agents),
        "NO_COLOR": "1",
    }


class _Run:
    """`python -m devstack` in the background, its output collected."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines[-400:])

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    return StackConfig.on_free_ports(tmp_path / "data")


@pytest.fixture
def run_env(config: StackConfig) -> dict[str, str]:
    return _env(config)


def _wait_up(run: _Run, config: StackConfig) -> None:
    urls = [f"{config.intake_url}/healthz", f"{config.gateway_url}/healthz"]
    urls += [f"{a.url}/healthz" for a in config.agents]
    for url in urls:
        try:
            wait_until(http_ok(url), _START_S, url, lambda: run.proc.poll() is None)
        except Exception as exc:
            run.stop()
            pytest.fail(f"{url} not healthy ({exc}); devstack said:\n{run.output()}")
    wait_until(lambda: any("Logins:" in line for line in run.lines), 10, "the summary")


@pytest.mark.timeout(900)
def test_run_with_ports_from_env_then_ctrl_c_leaves_no_orphans(
    config: StackConfig, run_env: dict[str, str]
) -> None:
    run = _Run(run_env)
    _wait_up(run, config)
    summary = run.output()
    assert f"{config.intake_url}/showcases/new" in summary
    assert "admin/admin" in summary and "studio/studio" in summary
    fleet = (config.data_dir / "fleet.yaml").read_text()
    assert all(a.url in fleet for a in config.agents)

    children = _children_of(run.proc.pid)
    assert len(children) >= 3 + 4 + 3  # nats, s3, smtp, four services, three agents
    assert run.stop() == 0, run.output()
    left = sorted(pid for pid in children if _alive(pid))
    assert not left, f"orphans after Ctrl-C: {left}\n{run.output()}"

    # Data survives: the second run keeps the secrets and finds the seeded index and the bucket.
    secrets = json.loads((config.data_dir / "secrets.json").read_text())
    again = _Run(run_env)
    try:
        _wait_up(again, config)
        assert json.loads((config.data_dir / "secrets.json").read_text()) == secrets
        response = httpx.get(
            f"{config.intake_url}/showcases/new", auth=("studio", "studio"), timeout=60
        )
        assert response.status_code == 200
    finally:
        assert again.stop() == 0, again.output()
