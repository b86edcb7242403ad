"""intake: throughput and latency of accepted submissions, on real parts.

    uv run python bench/intake_load.py [--requests 300] [--concurrency 16] [--timeout 30]
                                       [--scheme apr1|bcrypt12] [--profile SECONDS]
                                       [--intake-python PATH] [--tiny]

Starts a nats-server (JetStream, temporary store) and `python -m intake` on a free port with a
fresh index (seeded by `python -m intake seed`), then POSTs /api/showcases as `studio` with
unique names from `--concurrency` concurrent clients. Reports every answer by status (and the
client timeouts), requests/s and latency percentiles of the 201s, how many showcases the index
holds afterwards (each should be saved exactly once), the first POST after the burst, and how
long the outbox relay took to get every request into the stream. Then, in the same run and with
the same clients, as many `GET /healthz` (the process's own floor: no auth, no database), and
the ratio of the two rates. The rest of the pipeline is absent (nothing consumes the stream).

`--scheme bcrypt12` stores the studio's password as bcrypt cost 12 (`$2y$12$`, as the real
index holds some) instead of Apache MD5. `--profile SECONDS` samples intake with py-spy
(non-idle stacks, 100 Hz) during the POSTs and adds where its busy time went (the share of
samples in which each part of the code is on the stack). Prints a table and writes
bench/results/intake_load.json (intake_load_bcrypt12.json for bcrypt).

`--intake-python` runs intake with another interpreter, e.g. the virtualenv of a checkout of
an older commit, to measure the same load against the code before a change.
"""

from __future__ import annotations

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
from collections import Counter
from pathlib import Path

import httpx
import nats
from benchkit import parser as bench_parser
from benchkit import results_file
from devstack.ports import free_port
from devstack.servers import NatsServer
from showcase_common import subjects

ROOT = Path(__file__).resolve().parents[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start_intake(
    python: str, data: Path, nats_url: str, port: int, scheme: str
) -> subprocess.Popen[bytes]:
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
    if scheme == "bcrypt12":
        _store_bcrypt12(data / "index.sqlite3", "studio", "studio")
    return subprocess.Popen([python, "-m", "intake"], env=env)


def _store_bcrypt12(db: Path, userid: str, password: str) -> None:
    """The user's htpasswd line as `htpasswd -B -C 12` writes it."""
    from passlib.hash import bcrypt

    line = f"{userid}:{bcrypt.using(ident='2y', rounds=12).hash(password)}"
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE users SET password = ? WHERE userid = ?", (line, userid))


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


async def _healthz(client: httpx.AsyncClient) -> str:
    try:
        return str((await client.get("/healthz")).status_code)
    except httpx.TransportError as exc:
        return type(exc).__name__


async def _load(
    client: httpx.AsyncClient, total: int, concurrency: int, post: bool = True
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
            outcome = await (_post(client, f"Load {n}") if post else _healthz(client))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome in ("201", "200"):
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


def _cpu_s(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _profiler(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` (every thread, idle stacks left out) into collapsed stacks."""
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "100",
         "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


# Where a sample's time goes. A thread blocked on a lock, a condition or the selector is
# waiting (for the GIL, for work, for the network), whatever called it; otherwise the innermost
# frame of a specific part names the sample, and the generic layers (uvicorn, asyncio, the
# worker threads) only when nothing more specific is on the stack.
WAITING = ("Condition.wait", "EpollSelector.select", "_wait_for_tstate_lock", "Event.wait",
           "Lock.acquire", "SimpleQueue.get")  # fmt: skip
PARTS = (
    ("password verification (passlib)", ("passlib/",)),
    ("SQLite statements", ("sqlite3", "do_execute", "do_commit", "do_begin", "_set_sqlite")),
    ("ORM (sqlalchemy/sqlmodel, not executing)", ("sqlalchemy/", "sqlmodel/")),
    ("showcases.yml render", ("showcases_yaml", "showcases_file")),
    ("validation (pydantic)", ("pydantic",)),
    ("HTTP parsing (h11)", ("h11/",)),
    ("HTTP parsing (httptools)", ("httptools",)),
    ("JSON", ("json/",)),
    ("logging", ("logging/", "showcase_common/logs")),
    ("metrics (prometheus)", ("prometheus_client",)),
    ("NATS (outbox relay)", ("nats/",)),
    ("pure-ASGI middleware", ("middleware", "http_limits", "security_headers")),
    ("FastAPI/Starlette routing + DI", ("fastapi/", "starlette/")),
    ("intake's own code", ("intake/",)),
)
GENERIC = (
    ("uvicorn (protocol, server)", ("uvicorn/",)),
    ("thread hand-offs (anyio/asyncio → worker)", ("anyio/", "concurrent/futures", "threading")),
    ("asyncio event loop", ("asyncio/",)),
)


def _profile_summary(raw: Path) -> dict[str, object]:
    """Share of the sampled busy time per part of the code (innermost matching frame)."""
    if not raw.exists():
        return {"error": "py-spy wrote nothing (is ptrace allowed here?)"}
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaves[frames[-1].split(" (")[0]] += count
        parts[_part(frames)] += count
    if not total:
        return {"samples": 0}
    share = {name: round(100 * n / total, 1) for name, n in parts.most_common()}
    top = {name: round(100 * n / total, 1) for name, n in leaves.most_common(12)}
    return {"samples": total, "busy_share_pct": share, "top_functions_self_pct": top}


def _part(frames: list[str]) -> str:
    innermost = frames[-1]
    if any(wait in innermost for wait in WAITING):
        return "waiting (GIL, lock, selector)"
    for parts in (PARTS, GENERIC):
        for frame in reversed(frames):
            for name, needles in parts:
                if any(needle in frame for needle in needles):
                    return name
    return "other"


async def run(
    total: int, concurrency: int, timeout_s: float, python: str, scheme: str, profile_s: int
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        server = NatsServer(data / "nats")
        nats_url = server.start()
        port = free_port()
        proc = _start_intake(python, data, nats_url, port, scheme)
        profile: dict[str, object] | None = None
        try:
            limits = httpx.Limits(max_connections=concurrency + 1)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=timeout_s, limits=limits
            ) as client:
                await _wait_ready(client)
                await client.get("/showcases/new", auth=("studio", "studio"))  # warm the caches
                raw = results_file(f"intake_load_{scheme}_profile.txt")  # py-spy's collapsed stacks
                spy = _profiler(proc.pid, profile_s, raw) if profile_s else None
                cpu_started, started = _cpu_s(proc.pid), time.perf_counter()
                latencies, outcomes = await _load(client, total, concurrency)
                elapsed = time.perf_counter() - started
                post_cpu_s = _cpu_s(proc.pid) - cpu_started
                if spy is not None:
                    spy.wait(profile_s + 30)
                    profile = _profile_summary(raw) | {"raw": str(raw)}
                after = await _after_burst(client)
                # A remote count to poll: there is no local event to await.
                while await _stream_count(nats_url) < len(latencies):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                drained = time.perf_counter() - started
                cpu_started, health_started = _cpu_s(proc.pid), time.perf_counter()
                health, health_outcomes = await _load(client, total, concurrency, post=False)
                health_elapsed = time.perf_counter() - health_started
                health_cpu_s = _cpu_s(proc.pid) - cpu_started
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
        "healthz_answers": dict(sorted(health_outcomes.items())),
        "healthz_per_s": round(len(health) / health_elapsed, 1),
        "healthz_p99_ms": _ms(health, 0.99),
        "ratio_to_healthz": round((len(latencies) / elapsed) / (len(health) / health_elapsed), 2),
        # intake's own CPU per answer: what the box's load does not change much
        "intake_cpu_ms_per_post": round(1000 * post_cpu_s / max(1, sum(outcomes.values())), 2),
        "intake_cpu_ms_per_healthz": round(1000 * health_cpu_s / max(1, len(health)), 2),
        "password_scheme": scheme,
        "profile": profile,
        "intake_python": python,
        "load_average": round(os.getloadavg()[0], 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _ms(latencies: list[float], q: float) -> float | None:
    return round(_percentile(latencies, q) * 1000, 1) if latencies else None


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout, seconds")
    parser.add_argument("--intake-python", default=sys.executable)
    parser.add_argument("--scheme", choices=("apr1", "bcrypt12"), default="apr1")
    parser.add_argument("--profile", type=int, default=0, metavar="SECONDS",
                        help="sample intake with py-spy for this long during the POSTs")  # fmt: skip
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    if args.tiny:
        args.requests, args.concurrency = 8, 2
    suffix = "" if args.scheme == "apr1" else f"_{args.scheme}"
    args.output = args.output or results_file(f"intake_load{suffix}.json")
    result = asyncio.run(
        run(args.requests, args.concurrency, args.timeout, args.intake_python, args.scheme,
            args.profile)
    )  # fmt: skip
    width = max(len(k) for k in result)
    for key, value in result.items():
        if key != "profile":
            print(f"{key:<{width}}  {value}")
    profile = result.get("profile")
    if isinstance(profile, dict):
        print(f"where intake's busy time went ({profile.get('samples')} samples):")
        for name, pct in profile.get("busy_share_pct", {}).items():
            print(f"  {pct:>5.1f} %  {name}")
        print("innermost functions:")
        for name, pct in profile.get("top_functions_self_pct", {}).items():
            print(f"  {pct:>5.1f} %  {name}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
