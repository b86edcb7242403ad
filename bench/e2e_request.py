"""End-to-end time of a studio request, from the POST to `completed` on its WebSocket, on real
parts: on the local run's three agents, on fleets of N agents at realistic distances against the
physical limit measured in the same run, and for a burst of requests from many studios.

    uv run python bench/e2e_request.py [--requests 5] [--agents 8 32] [--fleet-requests 5]
        [--rtt-ms 20 150] [--burst 50 --burst-users 10 --burst-seconds 1] [--tiny]

Every part is the whole local stack (`devstack.Stack`: nats-server, weed mini, SMTP sink, every
service) on free ports in a temporary directory (bench/stack_run.py).

- **Local** (`--requests`, 0: skipped): the local run as `make run` starts it (three agents, the
  seed's index, the updater's defaults); requests one after another through
  `POST /api/showcases` as `studio`, each followed on its WebSocket: the POST's latency and the
  time from the POST to the first message of each step (syncing, updating, done). The first
  request is a warm-up, reported apart.
- **Fleet** (`--agents N ...`): N agents on the realistic index (75 studios, 370 showcases: the
  tests' Rails fixture), each behind a TCP relay that delays every byte by half its round trip
  (agent i of N: an RTT spread evenly over `--rtt-ms MIN MAX`), the updater at concurrency N
  without a canary (`--canary`: its default, canary first). One stack serves every size: it
  starts as many agents as the largest N, and each fleet is its first N agents (the smallest
  first; the others idle meanwhile, and catch up in the next fleet's warm-up). Per request
  (`--fleet-requests`, one after another, after a warm-up): `e2e` = the POST to `completed` on
  the WebSocket; the physical limit of the same request = the syncer's publication of the
  generation that covers it (snapshot → S3 → pointer, its own `syncer_publication_seconds`)
  + the slowest agent's own apply of that generation (`agent_apply_seconds{phase="total"}`,
  scraped before and after) + that agent's RTT; ratio = e2e / limit, overhead = e2e − limit.
  Where the time went, read from the services' own timestamps after the request (`steps_ms`,
  `Timeline`): when the stream stored each event and when its
  service built it, so when the roll-out started and its first call left, each machine's
  answer, the verdict, the gateway's write of `completed` and the socket's message — and the
  roll-out's own overhead by part (IndexSynced → first call, the calls beyond the slowest
  agent's apply + RTT, last answer → verdict stored, verdict → `completed` stored by the
  gateway, → received). Each studio's HTTP client is made once, as a browser's is (a new
  `httpx.AsyncClient` costs the bench ~30 ms building its SSL context).
- **Burst** (`--burst K`, on the smallest fleet, after its requests): K requests from
  `--burst-users` studios (each owning one location), sent evenly over `--burst-seconds`, each
  followed on its WebSocket: how many snapshots were uploaded, how many calls the machines got (and how many
  applied something), and the time from the first POST to the last `completed` — coalescing
  shows as far fewer uploads and machine calls than requests.

Prints a table and writes bench/results/e2e_request.json.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support (the index builder, the relay, metrics)

import httpx  # noqa: E402
from benchkit import parser as bench_parser  # noqa: E402
from benchkit import results_file  # noqa: E402
from devstack.config import AgentSpec, StackConfig  # noqa: E402
from devstack.fleet import write_fleet_file  # noqa: E402
from devstack.stack import Stack  # noqa: E402
from intake.security import htpasswd_line  # noqa: E402
from nats.js.client import JetStreamContext  # noqa: E402
from nats.js.kv import KeyValue  # noqa: E402
from showcase_common import events, subjects  # noqa: E402
from showcase_common.bus.connection import connect_once  # noqa: E402
from stack_run import machine_facts, running_stack, studio_location, write_results  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from tests.support.metrics import Samples, moved, parse_samples  # noqa: E402
from tests.support.rails_fixture import rails_rows, write_rails_index  # noqa: E402
from tests.support.relay import DelayRelay  # noqa: E402

STEPS = ("syncing", "updating", "done")
REGIONS = ("iad", "ord", "sjc")
STUDIO = ("studio", "studio")
BURST_PASSWORD = "bench-burst-pass"


async def _one(
    stack: Stack,
    http: httpx.AsyncClient,
    location_id: int,
    auth: tuple[str, str] = STUDIO,
) -> dict[str, Any]:
    """POST one showcase and follow it to `completed`; seconds from the POST to each step.

    `http` is the studio's own client, made once: like a browser's, it does not build an SSL
    context (~30 ms of the bench's own CPU in `httpx.AsyncClient()`) for every request."""
    body = {"name": f"Bench {uuid.uuid4().hex[:8]}", "location_id": location_id}
    sent_at = time.time()  # the wall clock: the services' timestamps are on the same box
    began = time.perf_counter()
    response = await http.post(f"{stack.intake_url}/api/showcases", json=body, auth=auth)
    posted = time.perf_counter() - began
    response.raise_for_status()
    created = response.json()
    timings: dict[str, Any] = {"post_s": posted}
    async with connect(created["progress"]["ws_url"]) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message["request_id"] != created["request_id"]:
                continue
            timings.setdefault(f"{message['step']}_s", time.perf_counter() - began)
            if message["status"] == "failed":
                raise RuntimeError(f"request failed: {message}")
            if message["status"] == "completed":
                return timings | {"request_id": created["request_id"], "sent_at": sent_at}
    raise RuntimeError("the WebSocket closed before the request completed")


def _table(rows: list[dict[str, float]]) -> list[dict[str, object]]:
    keys = ["post_s"] + [f"{step}_s" for step in STEPS]
    summary = []
    for key in keys:
        values = [row[key] for row in rows if key in row]
        if values:
            summary.append({"metric": key, "median": statistics.median(values), "max": max(values)})
    return summary


async def _bench(stack: Stack, requests: int) -> dict[str, Any]:
    location_id = studio_location(stack.index_db_path)
    async with httpx.AsyncClient(timeout=60) as http:
        warmup = await _one(stack, http, location_id)
        rows = [await _one(stack, http, location_id) for _ in range(requests)]
    return {"warmup": warmup, "requests": rows, "summary": _table(rows)}


def local(requests: int) -> dict[str, Any]:
    with running_stack("bench-e2e-") as run:
        result: dict[str, Any] = asyncio.run(_bench(run.stack, requests))
    print(f"local stack start {run.start_s:.1f}s, stop {run.stop_s:.1f}s")
    print(f"warm-up request: done after {result['warmup'].get('done_s', float('nan')):.2f}s")
    print(f"{'metric (from the POST)':<24}{'median s':>10}{'max s':>10}   n={requests}")
    for row in result["summary"]:
        print(f"{row['metric']:<24}{row['median']:>10.2f}{row['max']:>10.2f}")
    return {"stack_start_s": run.start_s, "stack_stop_s": run.stop_s, **result}


# --- fleets of N agents at a distance ----------------------------------------------------------


def rtts(n: int, low_ms: float, high_ms: float) -> list[float]:
    """Agent i's round trip, seconds: spread evenly over [low, high]."""
    if n == 1:
        return [high_ms / 1000]
    return [(low_ms + (high_ms - low_ms) * i / (n - 1)) / 1000 for i in range(n)]


def burst_logins(users: int) -> list[tuple[str, str]]:
    return [(f"burst{i:02d}", BURST_PASSWORD) for i in range(1, users + 1)]


def realistic_index(burst_users: int) -> Callable[[StackConfig], None]:
    """Writes the realistic index where the stack's seed finds it (and leaves it as it is):
    `studio` owns the first location, each burst login one of the next ones."""

    def prepare(config: StackConfig) -> None:
        rows = rails_rows(10)
        owners = iter(rows.locations[1:])
        for user, (userid, password) in zip(
            rows.users[6:], burst_logins(burst_users), strict=False
        ):
            user.userid, user.password = userid, htpasswd_line(userid, password)
            user.sites = ""
            next(owners).user_id = user.id
        write_rails_index(config.index_db_path, rows)

    return prepare


class Timeline:
    """Where a request's time went after the POST, from the services' own timestamps (every
    clock is this box's): each event's `occurred_at` (when its service built it) and the time
    the stream stored it, the gateway's write of `completed` to the progress bucket, and the
    WebSocket's message. Read after the request, from the stream, so measuring costs the
    request nothing."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def mark(self) -> int:
        """The stream's last sequence before a request: its events come after it."""
        return int((await self.js.stream_info(subjects.STREAM)).state.last_seq or 0)

    async def steps(self, since: int, timings: dict[str, Any], rtt_s: list[float],
                    apply_s: list[float], publication_s: float) -> dict[str, float]:  # fmt: skip
        """ms from the POST's sending to each step of the request's way (`Timeline` above)."""
        request_id, t0 = timings["request_id"], timings["sent_at"]
        last = await self.mark()
        stored: list[tuple[events.Event, float]] = []
        for seq in range(since + 1, last + 1):
            raw = await self.js.get_msg(subjects.STREAM, seq)
            event = events.decode(raw.subject or "", raw.data or b"")
            if any(ref.request_id == request_id for ref in events.request_refs(event)):
                assert raw.time is not None
                stored.append((event, raw.time.timestamp()))

        def ms(at: float) -> float:
            return round((at - t0) * 1000, 1)

        def of(kind: type[events.Event]) -> list[tuple[Any, float]]:
            return [(e, at) for e, at in stored if isinstance(e, kind)]

        ((_, created_at),) = of(events.ShowcaseCreated)
        ((synced, synced_at),) = of(events.IndexSynced)
        machines = of(events.MachineUpdated)
        ((fleet, fleet_at),) = of(events.FleetUpdated)
        built = [e.occurred_at.timestamp() for e, _ in machines]
        started = [e.occurred_at.timestamp() - e.duration_s for e, _ in machines]
        slowest = max(a + r for a, r in zip(apply_s, rtt_s, strict=True))
        kv = await self.js.key_value(subjects.REQUEST_STATE_BUCKET)
        completed_at = next(
            _stored_at(entry)
            for entry in await kv.history(request_id)
            if entry.value and json.loads(entry.value).get("status") == "completed"
        )
        received = t0 + timings["done_s"]
        first_call = min(started)
        return {
            "showcase_created_stored_ms": ms(created_at),
            "index_synced_built_ms": ms(synced.occurred_at.timestamp()),
            "index_synced_stored_ms": ms(synced_at),
            "rollout_started_ms": ms(fleet.occurred_at.timestamp() - fleet.duration_s),
            "first_call_ms": ms(first_call),
            "first_answer_ms": ms(min(built)),
            "last_answer_ms": ms(max(built)),
            "last_machine_stored_ms": ms(max(at for _, at in machines)),
            "fleet_updated_built_ms": ms(fleet.occurred_at.timestamp()),
            "fleet_updated_stored_ms": ms(fleet_at),
            "completed_stored_ms": ms(completed_at),
            "completed_received_ms": ms(received),
            # before the roll-out: the syncer's hand-off beyond its own publication (its
            # fetch, its ledger, its IndexSynced)
            "created_to_synced_beyond_publication_ms": round(
                (synced_at - created_at - publication_s) * 1000, 1
            ),
            # the roll-out's own overhead: its calls beyond the slowest agent's apply + RTT,
            # then from the last answer to the message on the socket
            "synced_to_first_call_ms": round((first_call - synced_at) * 1000, 1),
            "calls_beyond_slowest_ms": round((max(built) - first_call - slowest) * 1000, 1),
            "last_answer_to_fleet_stored_ms": round((fleet_at - max(built)) * 1000, 1),
            "fleet_stored_to_completed_stored_ms": round((completed_at - fleet_at) * 1000, 1),
            "completed_stored_to_received_ms": round((received - completed_at) * 1000, 1),
        }


def _stored_at(entry: KeyValue.Entry) -> float:
    """When the bucket stored an entry (nats-py types `created` as an int; it is a datetime)."""
    created: object = entry.created
    assert isinstance(created, dt.datetime), created
    return created.timestamp()


class Scrapes:
    """The `/metrics` of the syncer and of every agent, scraped together."""

    def __init__(self, http: httpx.AsyncClient, syncer_url: str, agent_urls: list[str]) -> None:
        self.http = http
        self.urls = [syncer_url, *agent_urls]

    async def take(self) -> list[Samples]:
        pages = await asyncio.gather(*(self.http.get(f"{url}/metrics") for url in self.urls))
        return [parse_samples(page.raise_for_status().text) for page in pages]


def _applies(before: list[Samples], after: list[Samples]) -> list[tuple[int, float]]:
    """Each agent's (applies, seconds applying) between two scrapes (the syncer's is first)."""
    return [
        (
            round(moved(b, a, "agent_apply_seconds_count", phase="total")),
            moved(b, a, "agent_apply_seconds_sum", phase="total"),
        )
        for b, a in zip(before[1:], after[1:], strict=True)
    ]


async def _measured(
    stack: Stack, location_id: int, scrapes: Scrapes, rtt_s: list[float], timeline: Timeline
) -> dict[str, Any]:
    """One request, POST → completed, against the limit of the same request."""
    before = await scrapes.take()
    since = await timeline.mark()
    timings = await _one(stack, scrapes.http, location_id)
    after = await scrapes.take()
    publications = round(moved(before[0], after[0], "syncer_publication_seconds_count"))
    publication_s = moved(before[0], after[0], "syncer_publication_seconds_sum")
    applies = _applies(before, after)
    if publications != 1 or any(count != 1 for count, _ in applies):
        raise RuntimeError(
            f"not one publication and one apply per agent: {publications}, {applies}"
        )
    slowest = max(seconds + rtt for (_, seconds), rtt in zip(applies, rtt_s, strict=True))
    e2e, limit = timings["done_s"], publication_s + slowest
    steps = await timeline.steps(
        since, timings, rtt_s, [seconds for _, seconds in applies], publication_s
    )
    return timings | {
        "steps_ms": steps,
        "publication_s": round(publication_s, 4),
        "slowest_agent_s": round(slowest, 4),
        "limit_s": round(limit, 4),
        "ratio": round(e2e / limit, 3),
        "overhead_ms": round((e2e - limit) * 1000, 1),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _fleet_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def of(key: str) -> list[float]:
        return [float(row[key]) for row in rows]

    return {
        "e2e_s_median": round(statistics.median(of("done_s")), 3),
        "limit_s_median": round(statistics.median(of("limit_s")), 3),
        "publication_s_median": round(statistics.median(of("publication_s")), 3),
        "ratio_median": round(statistics.median(of("ratio")), 3),
        "ratio_p95": round(_percentile(of("ratio"), 0.95), 3),
        "overhead_ms_p50": round(statistics.median(of("overhead_ms")), 1),
        "overhead_ms_p99": round(_percentile(of("overhead_ms"), 0.99), 1),
        "steps_s_median": {
            key: round(statistics.median(of(key)), 3)
            for key in ("post_s", "syncing_s", "updating_s")
            if all(key in row for row in rows)
        },
        "timeline_ms_median": {
            key: round(statistics.median(float(row["steps_ms"][key]) for row in rows), 1)
            for key in rows[0]["steps_ms"]
        },
    }


async def _burst(
    stack: Stack, scrapes: Scrapes, requests: int, users: int, seconds: float
) -> dict[str, Any]:
    """`requests` from `users` studios over `seconds`: uploads, machine calls, the last
    completion."""
    logins = burst_logins(users)
    locations = _owned_locations(stack.index_db_path, [userid for userid, _ in logins])
    async with AsyncExitStack() as exits:  # each studio its own client, like its own browser
        clients = [await exits.enter_async_context(httpx.AsyncClient(timeout=60)) for _ in logins]
        for http, login in zip(clients, logins, strict=True):  # each login once: a known address
            (await http.get(f"{stack.intake_url}/api/requests", auth=login)).raise_for_status()
        before = await scrapes.take()
        began = time.perf_counter()

        async def one(i: int) -> dict[str, float]:
            await asyncio.sleep(i * seconds / requests)
            sent_s = time.perf_counter() - began
            userid, password = logins[i % users]
            timings = await _one(stack, clients[i % users], locations[userid], (userid, password))
            return timings | {"sent_s": sent_s}

        rows = await asyncio.gather(*(one(i) for i in range(requests)))
    last = max(row["sent_s"] + row["done_s"] for row in rows)
    after = await scrapes.take()
    syncer = before[0], after[0]
    calls = [
        sum(
            moved(b, a, "agent_updates_total", outcome=outcome)
            for outcome in ("applied", "no_op", "stale")
        )
        for b, a in zip(before[1:], after[1:], strict=True)
    ]
    return {
        "requests": requests,
        "users": users,
        "sent_over_s": seconds,
        "uploads": round(moved(*syncer, "syncer_publications_total", outcome="published")),
        "machine_calls": round(sum(calls)),
        "machine_applies": sum(count for count, _ in _applies(before, after)),
        "agents": len(calls),
        "last_completed_s": round(last, 3),
        "last_post_answered_s": round(max(row["sent_s"] + row["post_s"] for row in rows), 3),
        "post_s_median": round(statistics.median(row["post_s"] for row in rows), 3),
        "done_s_median": round(statistics.median(row["done_s"] for row in rows), 3),
    }


def _owned_locations(index_db: Path, userids: list[str]) -> dict[str, int]:
    with sqlite3.connect(index_db) as db:
        found = db.execute(
            "SELECT users.userid, min(locations.id) FROM locations JOIN users "
            "ON users.id = locations.user_id WHERE users.userid IN "
            f"({', '.join('?' * len(userids))}) GROUP BY users.userid",
            userids,
        ).fetchall()
    return {userid: int(location) for userid, location in found}


async def _fleet_bench(
    stack: Stack, n: int, rtt_ms: tuple[float, float], requests: int, burst: dict[str, Any] | None
) -> dict[str, Any]:
    """The first `n` of the stack's agents are the fleet, each behind its relay."""
    agents, rtt_s = stack.agents[:n], rtts(n, *rtt_ms)
    async with AsyncExitStack() as exits:
        relays = []
        for agent, rtt in zip(agents, rtt_s, strict=True):
            relays.append(await DelayRelay(agent.port, rtt).start())
            exits.push_async_callback(relays[-1].close)
        distant = [
            AgentSpec(agent.agent_id, agent.region, relay.port)
            for agent, relay in zip(agents, relays, strict=True)
        ]
        write_fleet_file(stack.config.fleet_file, distant)  # the updater reads it when changed
        http = await exits.enter_async_context(httpx.AsyncClient(timeout=30))
        syncer_url = f"http://127.0.0.1:{stack.config.syncer_port}"
        scrapes = Scrapes(http, syncer_url, [agent.url for agent in agents])
        location_id = studio_location(stack.index_db_path)
        nats_client = await connect_once(stack.nats_url, "bench-e2e")  # the operator: reads
        exits.push_async_callback(nats_client.close)
        timeline = Timeline(nats_client.jetstream())
        warmup = await _one(stack, http, location_id)  # agents left behind catch up here
        rows = [
            await _measured(stack, location_id, scrapes, rtt_s, timeline) for _ in range(requests)
        ]
        result: dict[str, Any] = {
            "agents": n,
            "rtt_ms": [round(min(rtt_s) * 1000), round(max(rtt_s) * 1000)],
            "warmup": warmup,
            "requests": rows,
            "summary": _fleet_summary(rows),
        }
        if burst:
            result["burst"] = await _burst(stack, scrapes, **burst)
        _print_fleet(result)
        return result


async def _fleets_bench(
    stack: Stack, sizes: list[int], requests: int, rtt_ms: tuple[float, float],
    burst: dict[str, Any] | None,
) -> list[dict[str, Any]]:  # fmt: skip
    return [
        await _fleet_bench(stack, n, rtt_ms, requests, burst if i == 0 else None)
        for i, n in enumerate(sorted(sizes))
    ]


def fleets(
    sizes: list[int], requests: int, rtt_ms: tuple[float, float], canary: bool,
    burst: dict[str, Any] | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """One stack with as many agents as the largest fleet; each fleet is its first N agents
    (the smallest first; the burst on it), the others idle meanwhile."""
    most = max(sizes)
    machines = [
        (f"e2e-{i + 1}", region)
        for i, region in zip(range(most), itertools.cycle(REGIONS), strict=False)
    ]
    settings = {"CONCURRENCY": str(most)} | ({} if canary else {"CANARY": "false"})
    users = burst["users"] if burst else 0
    with running_stack(
        "bench-e2e-fleet-", settings=settings, prepare=realistic_index(users), machines=machines
    ) as run:
        print(f"stack with {most} agents started in {run.start_s:.0f} s", flush=True)
        results = asyncio.run(_fleets_bench(run.stack, sizes, requests, rtt_ms, burst))
    for result in results:
        result |= {"canary": canary, "stack_start_s": run.start_s, "stack_stop_s": run.stop_s}
    return results


def _print_fleet(result: dict[str, Any]) -> None:
    s = result["summary"]
    low, high = result["rtt_ms"]
    print(
        f"N={result['agents']} agents, RTT {low}–{high} ms: POST → completed {s['e2e_s_median']} s, limit "
        f"{s['limit_s_median']} s (publication {s['publication_s_median']} s), ratio "
        f"{s['ratio_median']} (p95 {s['ratio_p95']}), overhead {s['overhead_ms_p50']} ms "
        f"(p99 {s['overhead_ms_p99']}), n={len(result['requests'])}",
        flush=True,
    )
    print(
        "  timeline, ms from the POST (medians): "
        + ", ".join(f"{k.removesuffix('_ms')} {v}" for k, v in s["timeline_ms_median"].items()),
        flush=True,
    )

    if "burst" in result:
        b = result["burst"]
        print(
            f"burst: {b['requests']} requests from {b['users']} studios in {b['sent_over_s']} s "
            f"→ {b['uploads']} uploads, {b['machine_calls']} machine calls "
            f"({b['machine_applies']} applied, {b['agents']} agents), last POST answered after "
            f"{b['last_post_answered_s']} s, last completed after {b['last_completed_s']} s",
            flush=True,
        )


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, default=5, help="on the local run (0: skip it)")
    parser.add_argument("--agents", type=int, nargs="*", default=[], help="fleet sizes")
    parser.add_argument("--fleet-requests", type=int, default=5, help="per fleet")
    parser.add_argument("--rtt-ms", type=float, nargs=2, default=[20.0, 150.0],
                        metavar=("MIN", "MAX"), help="the agents' round trips, spread evenly")  # fmt: skip
    parser.add_argument("--canary", action="store_true", help="fleets: the updater's canary")
    parser.add_argument("--burst", type=int, default=0, help="requests in the burst (0: none)")
    parser.add_argument("--burst-users", type=int, default=10)
    parser.add_argument("--burst-seconds", type=float, default=1.0)
    args = parser.parse_args()
    if args.tiny:
        args.requests, args.agents, args.fleet_requests = 0, [2], 1
        args.burst, args.burst_users = 4, 2

    result: dict[str, Any] = {}
    if args.requests:
        result |= local(args.requests)
    burst = None
    if args.burst:
        burst = {"requests": args.burst, "users": args.burst_users, "seconds": args.burst_seconds}
    rtt_ms = (args.rtt_ms[0], args.rtt_ms[1])
    measured = (
        fleets(args.agents, args.fleet_requests, rtt_ms, args.canary, burst) if args.agents else []
    )
    write_results(
        results_file("e2e_request.json"),
        {
            "bench": "e2e_request",
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine_facts(),
            **result,
            "fleets": measured,
        },
    )


if __name__ == "__main__":
    main()
