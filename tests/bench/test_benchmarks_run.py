"""Every benchmark runs (benchmarks never rot): each bench/*.py at `--tiny` size, as `make bench`
runs it, while the stack's default ports are taken by someone else.

Checked for each: it exits 0, writes its JSON result file (into BENCH_RESULTS_DIR, not over the
real figures) and leaves no process behind (nats-server, weed, agents, services: everything it
started is gone when it returns). Its figures are not looked at: a smoke test, no timed
assertion. The benchmarks run side by side (most of their time is starting servers and waiting
for them), a few at a time, so the whole check takes about as long as the slowest two.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from run_all import BENCHMARKS, NOT_BENCHMARKS  # noqa: E402

MARKER = "SHOWCASE_BENCH_RUN"
"""An environment variable naming the run: every process a benchmark starts inherits it."""

# The contract's default ports (README configuration table): intake, gateway, syncer, updater,
# NATS and its monitoring, S3, SMTP, the local run's agents.
DEFAULT_PORTS = (8000, 8001, 8002, 8003, 4222, 8222, 9000, 1025, 8101, 8102, 8103)
SIDE_BY_SIDE = 3
# bench/compose_stack.py is the compose stack of tests/compose (the same ComposeStack, image
# build and progress helpers), which `make test` already builds and brings up with podman for
# minutes; it is not brought up a second time here. `make bench` runs the script itself.
ELSEWHERE = {"compose_stack"}


def scripts_in_bench() -> set[str]:
    return {
        path.stem
        for path in BENCH.glob("*.py")
        if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
    }


def test_make_bench_runs_every_benchmark() -> None:
    """A new bench/*.py is in `make bench`'s list (and so checked below) or it fails here."""
    listed = {script for script, _ in BENCHMARKS}
    assert scripts_in_bench() - NOT_BENCHMARKS == listed
    assert "intake_load" in listed


@pytest.fixture(scope="module")
def default_ports_taken() -> Iterator[list[int]]:
    """Listen on every default port that is free (those already taken are taken anyway)."""
    with contextlib.ExitStack() as stack:
        held = []
        for port in DEFAULT_PORTS:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            sock.listen()
            held.append(port)
        yield held


@dataclass
class Outcome:
    script: str
    status: int
    output: str
    results: list[Path]
    left_behind: list[str]


def processes_of(run_id: str, session: int) -> list[str]:
    """Live processes started by a run: in its session, or carrying its marker variable."""
    found = []
    needle = f"{MARKER}={run_id}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            state, _, _, sid = stat[stat.rindex(")") + 2 :].split()[:4]
            if state == "Z":
                continue
            if int(sid) == session or needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()[:200]!r}")
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def run_tiny(script: str, work: Path) -> Outcome:
    results = work / script
    run_id = uuid.uuid4().hex
    env = os.environ | {MARKER: run_id, "BENCH_RESULTS_DIR": str(results)}
    process = subprocess.Popen(
        [sys.executable, str(BENCH / f"{script}.py"), "--tiny"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own session: what is left in it afterwards is its own
    )
    try:
        output, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()
    return Outcome(
        script,
        process.returncode,
        output.decode(errors="replace"),
        sorted(results.glob("*.json")),
        processes_of(run_id, process.pid),
    )


@pytest.mark.timeout(900)
def test_every_benchmark_runs_at_tiny_size(tmp_path: Path, default_ports_taken: list[int]) -> None:
    scripts = sorted({script for script, _ in BENCHMARKS} - set(ELSEWHERE))
    with ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        outcomes = list(pool.map(lambda s: run_tiny(s, tmp_path), scripts))
    problems = []
    for outcome in outcomes:
        name = f"bench/{outcome.script}.py --tiny"
        if outcome.status != 0:
            problems.append(f"{name} exited {outcome.status}:\n{outcome.output[-12000:]}")
        elif not outcome.results:
            problems.append(f"{name} wrote no result file:\n{outcome.output[-1500:]}")
        for path in outcome.results:
            if not json.loads(path.read_text()):
                problems.append(f"{name} wrote an empty {path.name}")
        if outcome.left_behind:
            problems.append(f"{name} left processes behind: {outcome.left_behind}")
    assert not problems, "\n\n".join(problems)
