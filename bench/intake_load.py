"""intake: throughput and latency of accepted submissions, on real parts.

    uv run python bench/intake_load.py [--requests 300] [--concurrency 8]

Starts a nats-server (JetStream, temporary store) and `python -m intake` on a free port with a
fresh index (seeded by `python -m intake seed`), then POSTs /api/showcases as `studio` with
unique names from `--concurrency` concurrent clients. Reports requests/s and latency
percentiles of the 201s, and how long the outbox relay took to get every request into the
stream. Prints a table and writes bench/results/intake_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
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


def _start_intake(data: Path, nats_url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "INDEX_DB_PATH": str(data / "index.sqlite3"),
        "SHOWCASES_YML_PATH": str(data / "showcases.yml"),
        "NATS_URL": nats_url,
        "INTAKE_PORT": str(port),
        "SMTP_HOST": "",
        "SHOWCASE_DEV_MODE": "1",  # the bench measures load, not secrets
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "-m", "intake", "seed"], env=env, check=True)
    return subprocess.Popen([sys.executable, "-m", "intake"], env=env)


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


async def _load(client: httpx.AsyncClient, total: int, concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    refused = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker() -> None:
        nonlocal refused
        while not queue.empty():
            n = queue.get_nowait()
            body = {"name": f"Load {n}", "location_id": 1, "start_date": "2026-04-12"}
            started = time.perf_counter()
            response = await client.post("/api/showcases", json=body, auth=("studio", "studio"))
            if response.status_code == 201:
                latencies.append(time.perf_counter() - started)
            else:
                refused += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, refused


async def _stream_count(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(subjects.STREAM)).state.messages
    finally:
        await nc.close()


async def run(total: int, concurrency: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        server = NatsServer(data / "nats")
        nats_url = server.start()
        port = free_port()
        proc = _start_intake(data, nats_url, port)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                await _wait_ready(client)
                await client.get("/showcases/new", auth=("studio", "studio"))  # warm the caches
                started = time.perf_counter()
                latencies, refused = await _load(client, total, concurrency)
                elapsed = time.perf_counter() - started
                # A remote count to poll: there is no local event to await.
                while await _stream_count(nats_url) < len(latencies):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                drained = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(15)
            server.stop()
    return {
        "requests": total,
        "concurrency": concurrency,
        "accepted": len(latencies),
        "refused": refused,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "all_in_stream_after_s": round(drained, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.concurrency))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
