"""progress-gateway: connections one process holds, memory per connection, event → browser delay.

    uv run python bench/gateway_capacity.py [--levels 1000,2000,4000,8000] [--samples 300]

Starts a nats-server (JetStream, temporary store) and one `python -m progress_gateway` process on
a free port. Then:
1. capacity and memory: opens WebSocket connections in steps up to each level (each with its own
   token and request, as browser tabs do), checks that every connection received its first
   message, and reads the gateway's resident memory (VmRSS) at each level; memory per connection
   is the growth over the idle process divided by the connections. It stops at the first level
   where more than 1 % of the new connections fail.
2. delay: with the largest level still connected, publishes `--samples` step events (one at a
   time, each for a request that one connection watches) and measures the time from the publish
   to the moment that connection receives the message (the projector's fetch, the KV write, the
   feed's watch and the WebSocket send). Publisher and clients share this process's clock.

Clients run in this process too, so on a 2-core machine they compete with the gateway for CPU:
the figures are a floor of what the gateway alone would do. Prints a table and writes
bench/results/gateway_capacity.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from benchkit import parser as bench_parser
from benchkit import results_file
from devstack.ports import free_port
from devstack.servers import NatsServer
from showcase_common import events
from showcase_common.bus import Publisher, connect, ensure_stream
from showcase_common.tokens import issue_token
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-bench-secret-bench-secret"
CONNECT_CONCURRENCY = 200


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _raise_fd_limit() -> int:
    """Each connection is a descriptor on both ends; the gateway inherits this limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _start_gateway(nats_url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "NATS_URL": nats_url,
        "GATEWAY_PORT": str(port),
        "PROGRESS_TOKEN_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "PROJECTOR_FETCH_TIMEOUT_S": "0.5",
    }
    return subprocess.Popen([sys.executable, "-m", "progress_gateway"], env=env)


async def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError("the gateway did not become ready")


def _ref(request_id: str) -> events.RequestRef:
    showcase = events.ShowcaseRef(
        showcase_id=1, year=2027, location_key="bench", key="bench", name="Bench"
    )
    return events.RequestRef(
        request_id=request_id, user="studio", showcase=showcase, redirect_url="http://fleet/"
    )


@dataclass
class Tab:
    """One browser tab: a connection watching one request."""

    request_id: str
    ws: ClientConnection
    waiters: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)["message"]
            future = self.waiters.pop(message, None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())


async def _open_tab(ws_base: str, request_id: str) -> Tab:
    token = issue_token(SECRET, "studio", [request_id])
    ws = await ws_connect(
        f"{ws_base}/ws/progress?token={token}", open_timeout=60, ping_interval=None, proxy=None
    )
    await asyncio.wait_for(ws.recv(), 60)  # the current state: proof the tab is served
    tab = Tab(request_id, ws)
    tab.reader = asyncio.create_task(tab.read())
    return tab


async def _open_tabs(
    ws_base: str, first: int, count: int, errors: dict[str, int]
) -> tuple[list[Tab], int]:
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(i: int) -> Tab | None:
        async with limit:
            try:
                return await _open_tab(ws_base, f"bench{i}")
            except Exception as exc:
                kind = type(exc).__name__
                errors[kind] = errors.get(kind, 0) + 1
                return None

    results = await asyncio.gather(*(one(i) for i in range(first, first + count)))
    tabs = [t for t in results if t is not None]
    return tabs, count - len(tabs)


async def _capacity(ws_base: str, pid: int, levels: list[int]) -> tuple[list[dict], list[Tab]]:
    rows: list[dict] = []
    tabs: list[Tab] = []
    idle = _rss_mib(pid)
    rows.append({"connections": 0, "rss_mib": round(idle, 1), "failed": 0})
    for level in levels:
        started = time.perf_counter()
        errors: dict[str, int] = {}
        new, failed = await _open_tabs(ws_base, len(tabs), level - len(tabs), errors)
        tabs += new
        elapsed = time.perf_counter() - started
        rss = _rss_mib(pid)
        per_conn_kib = (rss - idle) * 1024 / max(1, len(tabs))
        rows.append(
            {
                "connections": len(tabs),
                "rss_mib": round(rss, 1),
                "kib_per_connection": round(per_conn_kib, 1),
                "opened_per_s": round(len(new) / elapsed, 1),
                "failed": failed,
                "errors": errors,
            }
        )
        print(f"  {len(tabs):>6} connections  rss {rss:7.1f} MiB  failed {failed}", flush=True)
        if failed > level // 100:  # a few timeouts on a busy machine are not the limit
            break
    return rows, tabs


async def _delays(nats_url: str, tabs: list[Tab], samples: int) -> list[float]:
    nc = await connect(nats_url, "bench-publisher")
    publisher = Publisher(nc.jetstream())
    delays: list[float] = []
    loop = asyncio.get_running_loop()
    try:
        for k in range(1, samples + 1):
            tab = tabs[(k * 7919) % len(tabs)]  # spread over the connections
            event = events.MachineUpdated(
                generation=1,
                requests=[_ref(tab.request_id)],
                machine_id=f"m{k}",
                region="ord",
                done=k,
                total=samples + 1,
                duration_s=0.1,
            )
            waiter: asyncio.Future[float] = loop.create_future()
            tab.waiters[f"Live in {k} of {samples + 1} regions (ord)…"] = waiter
            sent = time.perf_counter()
            await publisher.publish(event)
            received = await asyncio.wait_for(waiter, 30)
            delays.append((received - sent) * 1000)
    finally:
        await nc.close()
    return delays


async def run(levels: list[int], samples: int) -> dict:
    fd_limit = _raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats")
        nats_url = server.start()
        nc = await connect(nats_url, "bench-setup")
        await ensure_stream(nc.jetstream())
        await nc.close()
        port = free_port()
        gateway = _start_gateway(nats_url, port)
        tabs: list[Tab] = []
        try:
            await _wait_ready(f"http://127.0.0.1:{port}")
            print(f"capacity (fd limit {fd_limit}):", flush=True)
            rows, tabs = await _capacity(f"ws://127.0.0.1:{port}", gateway.pid, levels)
            print(f"delay over {samples} events with {len(tabs)} connections open:", flush=True)
            delays = await _delays(nats_url, tabs, samples)
        finally:
            await _close(tabs)
            gateway.terminate()
            gateway.wait(30)
            server.stop()
    return {
        "benchmark": "gateway_capacity",
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # other work on the machine skews every figure: note how busy it was
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "fd_limit": fd_limit,
        "levels": rows,
        "max_connections_held": max(r["connections"] for r in rows),
        "delay_ms": {
            "connections_open": len(tabs),
            "samples": len(delays),
            "p50": round(_percentile(delays, 0.50), 1),
            "p99": round(_percentile(delays, 0.99), 1),
            "mean": round(statistics.fmean(delays), 1),
            "max": round(max(delays), 1),
        },
    }


async def _close(tabs: list[Tab]) -> None:
    for tab in tabs:
        if tab.reader is not None:
            tab.reader.cancel()
    await asyncio.gather(*(t.ws.close() for t in tabs), return_exceptions=True)


def _print(result: dict) -> None:
    print()
    print(f"{'connections':>12} {'RSS MiB':>9} {'KiB/conn':>9} {'opened/s':>9} {'failed':>7}")
    for row in result["levels"]:
        print(
            f"{row['connections']:>12} {row['rss_mib']:>9} {row.get('kib_per_connection', '-'):>9} "
            f"{row.get('opened_per_s', '-'):>9} {row['failed']:>7}"
        )
    d = result["delay_ms"]
    print()
    print(f"step event → WebSocket message, {d['samples']} events, {d['connections_open']} open:")
    print(f"  p50 {d['p50']} ms   p99 {d['p99']} ms   mean {d['mean']} ms   max {d['max']} ms")
    print(f"(load average at the end: {result['machine']['load_average_1m_at_end']})")


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--levels", default="1000,2000,4000,8000")
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    if args.tiny:
        args.levels, args.samples = "20,40", 10
    levels = sorted(int(x) for x in args.levels.split(","))
    result = asyncio.run(run(levels, args.samples))
    _print(result)
    out = results_file("gateway_capacity.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
