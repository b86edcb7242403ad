"""What the whole-stack benchmarks share: the local stack on free ports, timed, and the result file.

Imported by `bench/e2e_request.py` and `bench/crash_recovery.py` (run as scripts, so this folder
is on their path).
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from devstack.config import AgentSpec, StackConfig
from devstack.output import LogMux
from devstack.ports import free_port
from devstack.stack import Stack

LOG_TAIL_LINES = 60


def studio_location(index_db: Path) -> int:
    """The first location the seed's `studio` owns: where its benchmark requests go."""
    with sqlite3.connect(index_db) as db:
        row = db.execute(
            "SELECT locations.id FROM locations JOIN users ON users.id = locations.user_id "
            "WHERE users.userid = 'studio' ORDER BY locations.id LIMIT 1"
        ).fetchone()
    return int(row[0])


@dataclass
class StackRun:
    stack: Stack
    start_s: float
    stop_s: float = 0.0


@contextmanager
def running_stack(
    prefix: str,
    *,
    settings: Mapping[str, str] | None = None,
    prepare: Callable[[StackConfig], None] | None = None,
    machines: Sequence[tuple[str, str]] = (),
    **config: object,
) -> Iterator[StackRun]:
    """`devstack.Stack` in a temporary directory, its start and stop timed; when anything fails,
    the last lines of its log are printed before the error (the log goes with the directory).

    `config`: `StackConfig` fields; `machines`: (id, region) of the agents to start instead of
    the local run's three, each on a free port of its own; `settings`: environment variables
    its processes start with (e.g. the updater's `CANARY`); `prepare`: runs on the config
    before anything starts (e.g. writes the index the seed then leaves as it is)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        log_path = Path(tmp) / "stack.log"
        with log_path.open("w", encoding="utf-8") as log:
            made = StackConfig.on_free_ports(Path(tmp) / "data", **config)
            if machines:
                made = replace(made, agents=_on_free_ports(made, machines))
            if prepare is not None:
                prepare(made)
            stack = Stack(made, LogMux(log, colour=False))
            try:
                began = time.perf_counter()
                with environment(settings or {}):  # the processes it starts inherit it
                    stack.start(timeout_s=240)  # a loaded 2-core box imports many Pythons at once
                run = StackRun(stack, time.perf_counter() - began)
                try:
                    yield run
                finally:
                    began = time.perf_counter()
                    stack.stop()
                    run.stop_s = time.perf_counter() - began
            except Exception:
                log.flush()
                lines = log_path.read_text().splitlines(True)
                # the services' warnings and errors first (why a machine failed, say): the tail
                # is mostly the stop
                trouble = [line for line in lines if " WARNING " in line or " ERROR " in line]
                print("".join(trouble[-LOG_TAIL_LINES:]) + "--- the log's end:\n")
                print("".join(lines[-LOG_TAIL_LINES:]))
                raise


def _on_free_ports(
    config: StackConfig, machines: Sequence[tuple[str, str]]
) -> tuple[AgentSpec, ...]:
    """Agents on free ports none of the stack's own ports (nor weed's gRPC twin) already has:
    a port picked free is only free until someone binds it, and none of them is bound yet."""
    taken = {
        value
        for item in fields(config)
        if item.name.endswith("_port") and isinstance(value := getattr(config, item.name), int)
    }
    taken.add(config.s3_port + 10000)  # weed's gRPC port (`free_port_with_grpc`)
    agents = []
    for agent_id, region in machines:
        port = free_port()
        while port in taken:
            port = free_port()
        taken.add(port)
        agents.append(AgentSpec(agent_id, region, port))
    return tuple(agents)


@contextmanager
def environment(settings: Mapping[str, str]) -> Iterator[None]:
    """These variables in our environment for the block (what a child started in it inherits)."""
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def machine_facts() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "load_avg": list(os.getloadavg()),
    }


def write_results(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path.relative_to(path.parents[2])}")
