"""Stand-in Rails machines (`devstack.standin_machine`) served in-process for the tests.

    machines = standin_machines("iad", "ord", "sjc")      # m1..m3, each a real HTTP server
    machines[0].url, machines[0].machine.mode = "fail", machines[0].machine.received

Each is the same server `python -m devstack --machines update_config` starts as a process:
navigator's `update_config` CGI (headers before any work, the log streamed, the success and
failure lines, the body's gzip) and the pages (late after the answer, another region's answered
with navigator's fly-replay).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from devstack.standin_machine import DEFAULT_PATH, StandInMachine, serve


@dataclass
class RunningStandIn:
    machine: StandInMachine
    url: str

    @property
    def id(self) -> str:
        return self.machine.machine_id


StandIns = Callable[..., list[RunningStandIn]]


@pytest.fixture
def standin_machines(tmp_path: Path) -> Iterator[StandIns]:
    servers: list[ThreadingHTTPServer] = []

    def start(
        *regions: str, page_delay_s: float = 0.0, path: str = DEFAULT_PATH
    ) -> list[RunningStandIn]:
        started = []
        for region in regions:
            number = len(servers) + 1
            machine = StandInMachine(
                f"m{number}", region, tmp_path / f"standin-{number}", path, "ok", page_delay_s
            )
            server = serve(machine, "127.0.0.1", 0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            port = server.server_address[1]
            started.append(RunningStandIn(machine, f"http://127.0.0.1:{port}"))
        return started

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def write_fleet_file(path: Path, machines: list[RunningStandIn]) -> Path:
    """A static fleet file naming each stand-in as an `update_config` machine."""
    entries = [
        {
            "id": m.id,
            "region": m.machine.region,
            "url": m.url,
            "protocol": "update_config",
            "path": m.machine.update_path,
        }
        for m in machines
    ]
    path.write_text(yaml.safe_dump({"machines": entries}, sort_keys=False))
    return path
