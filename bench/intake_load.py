"""intake: throughput and latency of accepted submissions, on real parts.

    uv run python bench/intake_load.py [--requests 300] [--concurrency 16] [--timeout 30]
                                       [--scheme apr1|bcrypt12] [--profile SECONDS]
                                       [--intake-python PATH] [--shared-pool] [--trace]
                                       [--tiny]

Starts a nats-server (JetStream, temporary store) and `python -m intake` on a free port with a
fresh index (seeded by `python -m intake seed`), then POSTs /api/showcases as `studio` with
unique names from `--concurrency` concurrent clients, each with its own keep-alive connection
(`--shared-pool`: one pool for all, as the bench was before; it measured its own pool's waits).
Reports every answer by status (and the
client timeouts), requests/s and latency percentiles of the 201s, how many showcases the index
holds afterwards (each should be saved exactly once), the first POST after the burst, and how
long the outbox relay took to get every request into the stream. Then, in the same run and with
the same clients, as many `GET /healthz` (the process's own floor: no auth, no database), and
the ratio of the two rates. The rest of the pipeline is absent (nothing consumes the stream).

Where the tail comes from: how many answers took over 100 ms in each tenth of the burst, the
stalls that held them (slow answers finishing together), and how long requests waited in the
client itself before being written (`client_wait_*`). The JSON has every POST's timeline (sent
at, latency, answer, client wait), each named `bench-<n>` by its X-Request-ID, with the burst's
start on intake's own clock (time.monotonic) to line it up with a trace of intake. `--trace`
runs intake under bench/intake_probes.py (its garbage collections, writer batches, showcases.yml
renders, long event-loop iterations, when each request reached it and how long it handled it)
and adds, for the burst: those events per kind, each slow answer's time split into the client's,
the way to intake, intake's and the way back, and intake's events during each stall.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    python: str, data: Path, nats_url: str, port: int, scheme: str, trace: Path | None = None
) -> subprocess.Popen[bytes]:
    """intake on `port` over a fresh index; with `trace`, under bench/intake_probes.py, which
    writes intake's timed events there when it exits."""
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
    if trace is not None:
        probes = str(ROOT / "bench" / "intake_probes.py")
        return subprocess.Popen([python, probes, str(trace)], env=env)
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


class Wrote:
    """When the client wrote a request's head to its connection (httpcore's trace hook): the
    time from the start of a call to here is the client's own (building the request, waiting
    for its connection), not intake's."""

    def __init__(self) -> None:
        self.at: float | None = None

    async def __call__(self, event: str, _info: dict[str, object]) -> None:
        if event == "http11.send_request_headers.started":
            self.at = time.monotonic()


async def _post(client: httpx.AsyncClient, n: int, wrote: Wrote, name: str = "") -> str:
    """The answer's status code, or what went wrong on the client's side. The request is
    named `bench-<n>` (X-Request-ID) in intake's log lines, the showcase `Load <n>`."""
    body = {"name": name or f"Load {n}", "location_id": 1, "start_date": "2026-04-12"}
    try:
        response = await client.post(
            "/api/showcases",
            json=body,
            auth=("studio", "studio"),
            headers={"X-Request-ID": f"bench-{n}"},
            extensions={"trace": wrote},
        )
    except httpx.TimeoutException:
        return "timeout"
    except httpx.TransportError as exc:
        return type(exc).__name__
    return str(response.status_code)


async def _healthz(client: httpx.AsyncClient, _n: int, wrote: Wrote) -> str:
    try:
        return str((await client.get("/healthz", extensions={"trace": wrote})).status_code)
    except httpx.TransportError as exc:
        return type(exc).__name__


@dataclass(frozen=True)
class Answer:
    """One request of a burst: when it was sent (ms after the burst started), how long its
    answer took (ms), the answer's status (or what went wrong on the client's side), and how
    much of that time passed in the client before the request was written (ms)."""

    sent_ms: float
    latency_ms: float
    outcome: str
    client_ms: float | None


def _clients(
    base_url: str, count: int, timeout_s: float, *, shared_pool: bool = False
) -> list[httpx.AsyncClient]:
    """One HTTP client per simulated client, each with its own single keep-alive connection.

    Not one client with a shared pool: httpcore (1.0) hands an idle connection to every queued
    request that looks for one before the first of them uses it; the losers go round again
    (`ConnectionNotAvailable`), and under 16 workers one request lost that race up to 36 times
    in a row and waited 1.1 s before its request was even written (measured: the slowest
    answers of a shared pool spent 90 % of their time there). Sixteen browsers or scripts
    don't share a pool either. `shared_pool` is the bench as it was before (one client, a pool
    of `count` + 1 connections), to compare."""
    if shared_pool:
        limits = httpx.Limits(max_connections=count + 1)
        return [httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits)] * count
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return [
        httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits) for _ in range(count)
    ]


async def _load(
    clients: list[httpx.AsyncClient], total: int, post: bool = True
) -> tuple[float, list[Answer]]:
    """`total` requests from every client at once, each sending its next one when answered.

    The burst's start (time.monotonic(): the same clock as intake's own, to line up with a
    trace of it) and every answer in the order they were sent."""
    numbers = iter(range(total))
    answers: list[Answer | None] = [None] * total
    call = _post if post else _healthz
    burst_started = time.monotonic()

    async def client_loop(client: httpx.AsyncClient) -> None:
        for n in numbers:
            wrote = Wrote()
            started = time.monotonic()
            outcome = await call(client, n, wrote)
            answered = time.monotonic()
            client_ms = None if wrote.at is None else round(1000 * (wrote.at - started), 2)
            sent_ms, latency_ms = 1000 * (started - burst_started), 1000 * (answered - started)
            answers[n] = Answer(round(sent_ms, 2), round(latency_ms, 2), outcome, client_ms)

    await asyncio.gather(*(client_loop(client) for client in clients))
    return burst_started, [answer for answer in answers if answer is not None]


def _latencies(answers: list[Answer]) -> list[float]:
    """The latencies (s) of the answers that succeeded (201 or 200)."""
    return [a.latency_ms / 1000 for a in answers if a.outcome in ("201", "200")]


def _outcomes(answers: list[Answer]) -> dict[str, int]:
    return dict(sorted(Counter(a.outcome for a in answers).items()))


SLOW_MS = 100.0
"""An answer slower than this misses the p99 target; where such answers fall in the burst
tells a cause spread through it (a periodic pause) from one at its start (cold caches)."""


def _slow_by_tenth(answers: list[Answer], burst_s: float) -> list[int]:
    """How many answers slower than SLOW_MS were sent in each tenth of the burst."""
    tenths = [0] * 10
    for answer in answers:
        if answer.latency_ms > SLOW_MS:
            tenths[min(9, int(10 * answer.sent_ms / (1000 * burst_s)))] += 1
    return tenths


def _slow_runs(answers: list[Answer], gap_ms: float = 50.0) -> list[dict[str, float]]:
    """The slow answers grouped by when they were answered: answers finishing within `gap_ms`
    of each other are one stall. Each stall: when it ended (ms after the burst started), how
    many answers it held back and the longest of them."""
    slow = sorted(
        (a.sent_ms + a.latency_ms, a.latency_ms) for a in answers if a.latency_ms > SLOW_MS
    )
    runs: list[dict[str, float]] = []
    for answered, latency in slow:
        if runs and answered - runs[-1]["answered_ms"] <= gap_ms:
            run = runs[-1]
            run["answered_ms"], run["count"] = answered, run["count"] + 1
            run["max_ms"] = max(run["max_ms"], latency)
        else:
            runs.append({"answered_ms": answered, "count": 1, "max_ms": latency})
    return [{k: round(v, 1) for k, v in run.items()} for run in runs]


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
    outcome = await _post(client, -1, Wrote(), name="After the burst")
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
           "Lock.acquire", "SimpleQueue.get", "WriterLane._wait_for_work")  # fmt: skip
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
    total: int,
    concurrency: int,
    timeout_s: float,
    python: str,
    scheme: str,
    profile_s: int,
    shared_pool: bool = False,
    trace: bool = False,
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        server = NatsServer(data / "nats")
        nats_url = server.start()
        port = free_port()
        trace_file = results_file(f"intake_load_{scheme}_trace.json") if trace else None
        proc = _start_intake(python, data, nats_url, port, scheme, trace_file)
        profile: dict[str, object] | None = None
        try:
            base_url = f"http://127.0.0.1:{port}"
            clients = _clients(base_url, concurrency, timeout_s, shared_pool=shared_pool)
            async with contextlib.AsyncExitStack() as stack:
                for each in dict.fromkeys(clients):  # each client once
                    await stack.enter_async_context(each)
                client = clients[0]
                await _wait_ready(client)
                await client.get("/showcases/new", auth=("studio", "studio"))  # warm the caches
                # every client's connection open before the burst: it measures requests, not
                # sixteen TCP handshakes
                await asyncio.gather(*(each.get("/healthz") for each in clients))
                raw = results_file(f"intake_load_{scheme}_profile.txt")  # py-spy's collapsed stacks
                spy = _profiler(proc.pid, profile_s, raw) if profile_s else None
                cpu_started, started = _cpu_s(proc.pid), time.perf_counter()
                burst_started, answers = await _load(clients, total)
                latencies, outcomes = _latencies(answers), _outcomes(answers)
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
                _, health_answers = await _load(clients, total, post=False)
                health, health_outcomes = _latencies(health_answers), _outcomes(health_answers)
                health_elapsed = time.perf_counter() - health_started
                health_cpu_s = _cpu_s(proc.pid) - cpu_started
            rows, names = _saved(data / "index.sqlite3")
        finally:
            proc.terminate()
            proc.wait(15)
            server.stop()
    traced = None
    if trace_file is not None:
        traced = _trace_summary(trace_file, burst_started, elapsed, answers)
    return {
        "requests": total,
        "concurrency": concurrency,
        "answers": outcomes,
        "accepted": len(latencies),
        "saved_rows": rows,
        "saved_distinct": names,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "burst_s": round(elapsed, 2),
        "p50_ms": _ms(latencies, 0.5),
        "p95_ms": _ms(latencies, 0.95),
        "p99_ms": _ms(latencies, 0.99),
        f"slower_than_{SLOW_MS:.0f}_ms": sum(a.latency_ms > SLOW_MS for a in answers),
        # where the slow answers were sent (a tenth of the burst each), and the stalls that
        # held them back (answers finishing close together)
        "slow_by_tenth_of_burst": _slow_by_tenth(answers, elapsed),
        "slow_stalls": _slow_runs(answers),
        # how long the slowest requests waited in the client itself before being written
        "client_wait_p50_ms": _quantile_ms([a.client_ms for a in answers], 0.5),
        "client_wait_p99_ms": _quantile_ms([a.client_ms for a in answers], 0.99),
        "client": "one shared pool" if shared_pool else "one connection per client",
        "first_post_after_burst": after,
        "all_in_stream_after_s": round(drained, 2),
        "healthz_answers": health_outcomes,
        "healthz_per_s": round(len(health) / health_elapsed, 1),
        "healthz_p99_ms": _ms(health, 0.99),
        "ratio_to_healthz": round((len(latencies) / elapsed) / (len(health) / health_elapsed), 2),
        # intake's own CPU per answer: what the box's load does not change much
        "intake_cpu_ms_per_post": round(1000 * post_cpu_s / max(1, sum(outcomes.values())), 2),
        "intake_cpu_ms_per_healthz": round(1000 * health_cpu_s / max(1, len(health)), 2),
        "password_scheme": scheme,
        "profile": profile,
        "trace": traced,
        # every POST, in sending order: [sent ms after the burst started, latency ms, answer,
        # ms in the client before it was written]; the burst's start on intake's clock
        # (time.monotonic) lines it up with a trace of intake (X-Request-ID bench-<n>)
        "burst_started_monotonic": burst_started,
        "timeline": [[a.sent_ms, a.latency_ms, a.outcome, a.client_ms] for a in answers],
        "intake_python": python,
        "load_average": round(os.getloadavg()[0], 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _quantile_ms(values_ms: list[float | None], q: float) -> float | None:
    known = [v for v in values_ms if v is not None]
    return round(_percentile(known, q), 1) if known else None


TraceEvent = tuple[str, float, float, dict[str, Any]]
STALL_EVENT_MS = 15.0
"""An event of intake's this long or longer is named among a stall's suspects."""


def _trace_summary(
    path: Path, burst_started: float, burst_s: float, answers: list[Answer]
) -> dict[str, object]:
    """intake's events during the burst (bench/intake_probes.py), summed up per kind; each
    slow answer's time split into the client's, the way to intake, intake's and the way back;
    and for each stall the events of intake's that overlapped it."""
    if not path.exists():
        return {"error": f"intake wrote no trace to {path}"}
    events: list[TraceEvent] = [
        (kind, start, stop, detail) for kind, start, stop, detail in json.loads(path.read_text())
    ]
    end = burst_started + burst_s
    during = [e for e in events if burst_started <= e[1] <= end]
    kinds: dict[str, list[float]] = {}
    for kind, start, stop, _ in during:
        if kind not in ("arrive", "request"):
            kinds.setdefault(kind, []).append(1000 * (stop - start))
    sizes = [e[3]["n"] for e in during if e[0] == "batch"]
    return {
        "raw": str(path),
        "events_ms": {
            kind: {
                "count": len(ms),
                "p50": round(_percentile(ms, 0.5), 2),
                "p99": round(_percentile(ms, 0.99), 2),
                "max": round(max(ms), 2),
                "total": round(sum(ms), 1),
            }
            for kind, ms in sorted(kinds.items())
        },
        "batch_size_mean_max": [round(sum(sizes) / len(sizes), 1), max(sizes)] if sizes else None,
        "slowest_answers": _split_answers(events, burst_started, answers),
        "stall_suspects": _stall_suspects(during, burst_started, answers),
    }


def _split_answers(
    events: list[TraceEvent], burst_started: float, answers: list[Answer], top: int = 10
) -> dict[str, object]:
    """Each answer's latency in four parts (ms): in the client before it was written, from
    written to intake's protocol, in intake's app, from the app's end to the answer read."""
    arrived = {e[3]["rid"]: e[1] for e in events if e[0] == "arrive"}
    handled = {e[3]["rid"]: e[2] for e in events if e[0] == "request"}
    parts: list[tuple[float, int, float, float, float, float]] = []
    for n, answer in enumerate(answers):
        rid = f"bench-{n}"
        if rid not in arrived or rid not in handled or answer.client_ms is None:
            continue
        sent = burst_started + answer.sent_ms / 1000
        written = sent + answer.client_ms / 1000
        finished = handled[rid]
        answered = sent + answer.latency_ms / 1000
        to_intake = 1000 * (arrived[rid] - written)
        in_intake = 1000 * (finished - arrived[rid])
        back = 1000 * (answered - finished)
        parts.append((answer.latency_ms, n, answer.client_ms, to_intake, in_intake, back))
    if not parts:
        return {}
    names = ("in the client", "to intake", "in intake", "back to the client")
    return {
        "p99_ms": {
            name: round(_percentile([p[i + 2] for p in parts], 0.99), 1)
            for i, name in enumerate(names)
        },
        "slowest": [
            {"request": f"bench-{n}", "ms": round(total, 1)}
            | {name: round(part, 1) for name, part in zip(names, rest, strict=True)}
            for total, n, *rest in sorted(parts, reverse=True)[:top]
        ],
    }


def _stall_suspects(
    during: list[TraceEvent], burst_started: float, answers: list[Answer]
) -> list[dict[str, object]]:
    """For each stall of slow answers, intake's events of STALL_EVENT_MS or more within it."""
    long = [e for e in during if 1000 * (e[2] - e[1]) >= STALL_EVENT_MS and e[0] != "relay"]
    suspects: list[dict[str, object]] = []
    for stall in _slow_runs(answers):
        last = burst_started + stall["answered_ms"] / 1000
        first = last - stall["max_ms"] / 1000
        overlapping = [
            f"{kind} {1000 * (stop - start):.0f} ms at {1000 * (start - burst_started):.0f}"
            for kind, start, stop, _ in long
            if start < last and stop > first and kind != "request"
        ]
        suspects.append({**stall, "intake_events": overlapping})
    return suspects


def _ms(latencies: list[float], q: float) -> float | None:
    return round(_percentile(latencies, q) * 1000, 1) if latencies else None


def _print_trace(traced: dict[str, Any]) -> None:
    if "error" in traced:
        print(f"trace: {traced['error']}")
        return
    print(f"intake's events during the burst (ms; {traced['raw']}):")
    for kind, ms in traced["events_ms"].items():
        print(f"  {kind:<14} {ms['count']:>5} × p50 {ms['p50']:>7} p99 {ms['p99']:>7}"
              f" max {ms['max']:>7} total {ms['total']:>8}")  # fmt: skip
    print(f"  writer batch size mean / max: {traced['batch_size_mean_max']}")
    split = traced["slowest_answers"]
    if split:
        print(f"answers' p99 by part (ms): {split['p99_ms']}")
        for slow in split["slowest"][:5]:
            print(f"  {slow}")
    stalls = sorted(traced["stall_suspects"], key=lambda stall: -stall["max_ms"])
    for stall in stalls[:5]:  # the longest; the JSON has them all
        print(f"stall: {stall}")


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout, seconds")
    parser.add_argument("--intake-python", default=sys.executable)
    parser.add_argument("--scheme", choices=("apr1", "bcrypt12"), default="apr1")
    parser.add_argument("--profile", type=int, default=0, metavar="SECONDS",
                        help="sample intake with py-spy for this long during the POSTs")  # fmt: skip
    parser.add_argument("--trace", action="store_true",
                        help="run intake under bench/intake_probes.py: its collections, writer"
                        " batches, renders and each request's time inside it, lined up with the"
                        " slow answers (the probes cost CPU: compare traced runs with traced)")  # fmt: skip
    parser.add_argument("--shared-pool", action="store_true",
                        help="all clients share one connection pool (the bench before"
                        " 2026-12-03: it measured its own pool's waits; to compare)")  # fmt: skip
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    if args.tiny:
        args.requests, args.concurrency = 8, 2
    suffix = "" if args.scheme == "apr1" else f"_{args.scheme}"
    args.output = args.output or results_file(f"intake_load{suffix}.json")
    result = asyncio.run(
        run(args.requests, args.concurrency, args.timeout, args.intake_python, args.scheme,
            args.profile, args.shared_pool, args.trace)
    )  # fmt: skip
    width = max(len(k) for k in result)
    for key, value in result.items():
        if key not in ("profile", "trace", "timeline", "burst_started_monotonic"):
            print(f"{key:<{width}}  {value}")
    profile = result.get("profile")
    if isinstance(profile, dict):
        print(f"where intake's busy time went ({profile.get('samples')} samples):")
        for name, pct in profile.get("busy_share_pct", {}).items():
            print(f"  {pct:>5.1f} %  {name}")
        print("innermost functions:")
        for name, pct in profile.get("top_functions_self_pct", {}).items():
            print(f"  {pct:>5.1f} %  {name}")
    traced = result.get("trace")
    if isinstance(traced, dict):
        _print_trace(traced)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
