"""intake: throughput and latency of accepted submissions, on real parts.

    uv run python bench/intake_load.py [--requests 300] [--concurrency 8] [--timeout 30]
                                       [--intake-python PATH]

Starts a nats-server (JetStream, temporary store) and `python -m intake` on a free port with a
fresh index (seeded by `python -m intake seed`), then POSTs /api/showcases as `studio` with
unique names from `--concurrency` concurrent clients. Reports every answer by status (and the
client timeouts), requests/s and latency percentiles of the 201s, how many showcases the index
holds afterwards (each should be saved exactly once), the first POST after the burst, and how
long the outbox relay took to get every request into the stream. Prints a table and writes
bench/results/intake_load.json.

`--intake-python` runs intake with another interpreter, e.g. the virtualenv of a checkout of
an older commit, to measure the same load against the code before a change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import nats
from devstack.ports import free_port
from devstack.servers import NatsServer
from showcase_common import subjects

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "intake_load.json"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start_intake(python: str, data: Path, nats_url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "INDEX_DB_PATH": str(data / "index.sqlite3"),
        "SHOWCASES_YML_PATH": str(data / "showcases.yml"),
        "NATS_URL": nats_url,
        "INTAKE_PORT": str(port),
        "SMTP_HOST": "",
        "SHOWCASE_DEV_MODE": "1",  # the bench measures load, not secrets
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([python, "-m", "intake", "seed"], env=env, check=True)
    return subprocess.Popen([python, "-m", "intake"], env=env)


async def _wait_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 180  # imports are slow on a loaded machine
    while time.monotonic() < deadline:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("intake did not become ready")


async def _post(client: httpx.AsyncClient, name: str) -> str:
    """The answer's status code, or what went wrong on the client's side."""
    body = {"name": name, "location_id": 1, "start_date": "2026-04-12"}
    try:
        response = await client.post("/api/showcases", json=body, auth=("studio", "studio"))
    except httpx.TimeoutException:
        return "timeout"
    except httpx.TransportError as exc:
        return type(exc).__name__
    return str(response.status_code)


async def _load(
    client: httpx.AsyncClient, total: int, concurrency: int
) -> tuple[list[float], dict[str, int]]:
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            started = time.perf_counter()
            outcome = await _post(client, f"Load {n}")
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome == "201":
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, outcomes


def _saved(db: Path) -> tuple[int, int]:
    """(rows named "Load …", distinct names among them): equal when none was saved twice."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows, names = conn.execute(
            "SELECT count(*), count(DISTINCT name) FROM showcases WHERE name LIKE 'Load %'"
        ).fetchone()
    return int(rows), int(names)


async def _after_burst(client: httpx.AsyncClient) -> str:
    """The first POST once the burst is over: its status and how long it took."""
    started = time.perf_counter()
    outcome = await _post(client, "After the burst")
    return f"{outcome} in {time.perf_counter() - started:.2f}s"


async def _stream_count(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(subjects.STREAM)).state.messages
    finally:
        await nc.close()


async def run(total: int, concurrency: int, timeout_s: float, python: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        server = NatsServer(data / "nats")
        nats_url = server.start()
        port = free_port()
        proc = _start_intake(python, data, nats_url, port)
        try:
            limits = httpx.Limits(max_connections=concurrency + 1)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=timeout_s, limits=limits
            ) as client:
                await _wait_ready(client)
                await client.get("/showcases/new", auth=("studio", "studio"))  # warm the caches
                started = time.perf_counter()
                latencies, outcomes = await _load(client, total, concurrency)
                elapsed = time.perf_counter() - started
                after = await _after_burst(client)
                # A remote count to poll: there is no local event to await.
                while await _stream_count(nats_url) < len(latencies):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                drained = time.perf_counter() - started
            rows, names = _saved(data / "index.sqlite3")
        finally:
            proc.terminate()
            proc.wait(15)
            server.stop()
    return {
        "requests": total,
        "concurrency": concurrency,
        "answers": dict(sorted(outcomes.items())),
        "accepted": len(latencies),
        "saved_rows": rows,
        "saved_distinct": names,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "burst_s": round(elapsed, 2),
        "p50_ms": _ms(latencies, 0.5),
        "p95_ms": _ms(latencies, 0.95),
        "p99_ms": _ms(latencies, 0.99),
        "first_post_after_burst": after,
        "all_in_stream_after_s": round(drained, 2),
        "intake_python": python,
        "load_average": round(os.getloadavg()[0], 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _ms(latencies: list[float], q: float) -> float | None:
    return round(_percentile(latencies, q) * 1000, 1) if latencies else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout, seconds")
    parser.add_argument("--intake-python", default=sys.executable)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.concurrency, args.timeout, args.intake_python))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
