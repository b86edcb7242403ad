"""A roll-out to 8 and 32 real agents at realistic distances, against the physical limit
measured in the same run, and against the old one-machine-after-another way.

    uv run python bench/rollout_parallel.py [--sizes 8 32] [--runs 5] [--rtt-ms 20 150] [--tiny]

Real parts: a nats-server and `weed mini` started here (or NATS_URL / S3_ENDPOINT_URL), N
`python -m machine_agent` processes on a static fleet, and the updater's own handler (make_handler
with the real HTTP client, fleet and publisher). The index is realistic (75 studios, 370
showcases: the tests' Rails fixture); each generation adds one showcase, so every update is an
incremental one. Each agent sits behind a TCP relay that delays every byte by half its round
trip each way: agent i of N gets an RTT spread evenly over `--rtt-ms MIN MAX` (distant regions;
`--rtt-ms 0 0`: none).

What one measurement is: the new generation's upload to S3 (what the syncer does) followed by the
updater's whole roll-out (status, update, truth check, events) = `pipeline`. The physical limit
of the same run is the upload plus the slowest agent's own work: max over agents of (its own
apply time, as it reports it in its answer, + its RTT) = `limit`. ratio = pipeline / limit (1.0:
nothing but physics), overhead = pipeline − limit. Modes, after one warm-up roll-out:
  parallel    all N machines at once, no canary (`--runs` times: median, and the max as p95)
  default     the updater's defaults (canary first, then the rest at its concurrency)
  sequential  one machine after another, no canary: the old job's way (its baseline)
One fleet of agents serves every size: it starts as many as the largest, and each size is its
first N (the smallest first; the others idle meanwhile, and catch up in the next warm-up).
`one` (median of 3) is a single agent's own update while the others idle. On a small box the N
agents share its cores, so every agent's own apply slows as N grows: that is in the limit
(measured), not in the overhead. Writes bench/results/rollout_parallel.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support (agents and the index builder)
sys.path.insert(0, str(ROOT / "bench"))  # for the realistic index of agent_apply.py

import httpx  # noqa: E402
import yaml  # noqa: E402
from agent_apply import realistic_rows  # noqa: E402
from benchkit import nats_server, results_file, s3_bucket  # noqa: E402
from benchkit import parser as bench_parser  # noqa: E402
from machine_updater.bootstrap import (  # noqa: E402
    UpdaterPorts,
    make_client,
    make_fleet,
    make_handler,
    make_http,
)
from machine_updater.config import UpdaterSettings  # noqa: E402
from machine_updater.handlers import RolloutHandler  # noqa: E402
from machine_updater.newest_snapshot import StreamNewestSnapshot  # noqa: E402
from machine_updater.rollout import MachinePace  # noqa: E402
from nats.js.api import PubAck  # noqa: E402
from nats.js.client import JetStreamContext  # noqa: E402
from showcase_common.bus import Publisher, connect, ensure_stream  # noqa: E402
from showcase_common.events import (  # noqa: E402
    Event,
    IndexSynced,
    RequestRef,
    ShowcaseRef,
    Snapshot,
)
from showcase_common.index import Showcase  # noqa: E402
from showcase_common.settings import S3Settings  # noqa: E402

from tests.support.agents import (  # noqa: E402
    AgentFleet,
    AgentProcess,
    publish_snapshot,
    snapshot_store,
)
from tests.support.rails_fixture import write_rails_index  # noqa: E402
from tests.support.relay import DelayRelay  # noqa: E402

STARTUP_S = 600.0


class Index:
    """The realistic index, one more showcase per generation."""

    def __init__(self, work: Path, s3: S3Settings) -> None:
        self.work = work
        self.store = snapshot_store(s3)
        self.rows = realistic_rows()
        self.generation = 0
        self.upload_s = 0.0

    def next(self) -> tuple[Snapshot, RequestRef]:
        self.generation += 1
        n = max(s.id or 0 for s in self.rows.showcases) + 1
        location = self.rows.locations[0]
        row = Showcase(
            id=n,
            location_id=location.id or 1,
            year=2026,
            key=f"bench-{n}",
            name=f"Bench Showcase {n}",
            order=n,
            date="2026-06-01",
        )
        self.rows.showcases.append(row)
        path = self.work / f"index-{self.generation}.sqlite3"
        write_rails_index(path, self.rows)
        started = time.perf_counter()
        snapshot = publish_snapshot(self.store, path, self.generation)
        self.upload_s = time.perf_counter() - started
        ref = ShowcaseRef(
            showcase_id=n, year=2026, location_key=location.key or "", key=row.key, name=row.name
        )
        return snapshot, RequestRef(
            request_id=f"bench-{n}", user="bench", showcase=ref, redirect_url="/"
        )


def start_fleet(work: Path, s3: S3Settings, n: int) -> tuple[AgentFleet, list[AgentProcess]]:
    fleet = AgentFleet(work / f"agents-{n}", s3)
    agents = [fleet.create(f"a{i + 1}", "iad") for i in range(n)]
    try:
        for agent in agents:
            agent.spawn()
        for agent in agents:
            agent.wait_ready(STARTUP_S)
    except BaseException:
        fleet.close()  # one agent did not start (its port taken meanwhile): stop the others
        raise
    return fleet, agents


def rtts(n: int, low_ms: float, high_ms: float) -> list[float]:
    """Agent i's round trip, seconds: spread evenly over [low, high]."""
    if n == 1:
        return [high_ms / 1000]
    return [(low_ms + (high_ms - low_ms) * i / (n - 1)) / 1000 for i in range(n)]


class RecordingPublisher(Publisher):
    """The real publisher, remembering what the roll-out reported."""

    def __init__(self, js: JetStreamContext) -> None:
        super().__init__(js)
        self.events: list[Event] = []
        self.published_at: list[float] = []
        self.publishing_s = 0.0

    def clear(self) -> None:
        self.events.clear()
        self.published_at.clear()
        self.publishing_s = 0.0

    async def publish(self, event: Event, *, msg_id: str | None = None) -> PubAck:
        self.events.append(event)
        began = time.perf_counter()
        try:
            return await super().publish(event, msg_id=msg_id)
        finally:
            self.published_at.append(time.perf_counter())
            self.publishing_s += self.published_at[-1] - began


class AgentTimes:
    """Each agent's own apply time, from its answers to the updater (`timings.total`), and when
    the updater sent each call and had its answer (the steps of one roll-out)."""

    def __init__(self) -> None:
        self.by_port: dict[int, float] = {}
        self.handler: dict[int, float] = {}
        """The agent's own time in its update route (`timings.handler`: the apply included)."""
        self.sent: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self.posts: dict[int, list[str]] = {}
        """Each agent's update calls this roll-out: its answers' status (and `changed`)."""
        self.other_calls = 0
        """Calls that are not the update (status reads, page asks)."""

    def clear(self) -> None:
        self.by_port.clear()
        self.handler.clear()
        self.sent.clear()
        self.answered.clear()
        self.posts.clear()
        self.other_calls = 0

    async def on_request(self, request: httpx.Request) -> None:
        if request.method == "POST":
            self.sent.setdefault(request.url.port or 0, time.perf_counter())
        else:
            self.other_calls += 1

    async def on_response(self, response: httpx.Response) -> None:
        if response.request.method != "POST":
            return
        port = response.request.url.port or 0
        await response.aread()
        try:
            body = response.json()
        except ValueError:  # not JSON (a proxy's error page): the status says enough
            body = {}
        self.posts.setdefault(port, []).append(f"{response.status_code} {body.get('changed')}")
        if response.status_code != 200:
            return
        self.answered[port] = time.perf_counter()
        timings = body.get("timings") or {}
        if timings.get("total") is not None:
            self.by_port[port] = float(timings["total"])
        if timings.get("handler") is not None:
            self.handler[port] = float(timings["handler"])


@contextlib.asynccontextmanager
async def updater_http(n: int, secret: str) -> AsyncIterator[tuple[httpx.AsyncClient, AgentTimes]]:
    """The updater's HTTP client, kept across roll-outs as the running updater keeps it (its
    connections to the machines stay open), recording each agent's own apply time."""
    settings = UpdaterSettings(machine_update_secret=secret, concurrency=n)
    http = make_http(settings)
    times = AgentTimes()
    http.event_hooks["request"].append(times.on_request)
    http.event_hooks["response"].append(times.on_response)
    try:
        yield http, times
    finally:
        await http.aclose()


@contextlib.asynccontextmanager
async def updater(
    nats_url: str, fleet_file: Path, secret: str, concurrency: int, canary: bool,
    http: httpx.AsyncClient,
) -> AsyncIterator[tuple[RolloutHandler, RecordingPublisher]]:  # fmt: skip
    settings = UpdaterSettings(
        nats_url=nats_url, fleet_file=fleet_file, machine_update_secret=secret,
        concurrency=concurrency, canary=canary,
    )  # fmt: skip
    nc = await connect(nats_url, "bench")
    js = nc.jetstream()
    await ensure_stream(js)
    publisher = RecordingPublisher(js)
    try:
        made = UpdaterPorts(
            publisher=publisher,
            newest_snapshot=StreamNewestSnapshot(js),
            fleet=make_fleet(settings, http),
            client=make_client(settings, http),
            http=http,
        )
        yield make_handler(settings, made), publisher
    finally:
        await nc.close()


MODES = {
    # name: (concurrency (None: the updater's default), canary)
    "parallel": (0, False),  # 0: all N
    "default": (None, True),
    "sequential": (1, False),
}


async def measure_size(
    fleet: AgentFleet, agents: list[AgentProcess], runs: int, rtt_ms: tuple[float, float],
    work: Path, nats_url: str, index: Index,
) -> dict[str, object]:  # fmt: skip
    n = len(agents)
    relays: list[DelayRelay] = []
    try:
        delays = rtts(n, *rtt_ms)
        for agent, rtt in zip(agents, delays, strict=True):
            relays.append(await DelayRelay(agent.port, rtt).start())
        rtt_of = {relay.port: relay.rtt_s for relay in relays}
        fleet_file = work / f"fleet-{n}.yaml"
        machines = [
            {"id": a.agent_id, "region": a.region, "url": f"http://127.0.0.1:{relay.port}"}
            for a, relay in zip(agents, relays, strict=True)
        ]
        fleet_file.write_text(yaml.safe_dump({"machines": machines}))
        ones = [await one_agent(agents, index) for _ in range(3)]
        modes: dict[str, dict[str, object]] = {}
        default_concurrency = UpdaterSettings.model_fields["concurrency"].default
        async with updater_http(n, fleet.secret) as (http, times):
            # every mode's updater knows each machine's pace from the roll-outs before, as a
            # running updater does (`MachinePace`: the slowest are called first)
            pace = MachinePace()
            warm = True
            for mode, (concurrency, canary) in MODES.items():
                width = n if concurrency == 0 else (concurrency or default_concurrency)
                async with updater(
                    nats_url, fleet_file, fleet.secret, width, canary, http
                ) as (handler, publisher):  # fmt: skip
                    handler.pace = pace
                    if warm:  # every agent's first update loads what it caches, the updater
                        # opens its connections and learns the pace: measure the steady state
                        await roll_out(handler, publisher, index, rtt_of, times)
                        warm = False
                    samples = [
                        await roll_out(handler, publisher, index, rtt_of, times)
                        for _ in range(runs if mode == "parallel" else 1)
                    ]
                modes[mode] = summarise(samples) | {"concurrency": width, "canary": canary}
                print_row(n, mode, modes[mode])
        return {
            "agents": n, "rtt_ms": [round(d * 1000) for d in (min(delays), max(delays))],
            "one_agent_s": round(statistics.median(ones), 3), "modes": modes,
        }  # fmt: skip
    finally:
        for relay in relays:
            await relay.close()


def summarise(samples: list[dict[str, Any]]) -> dict[str, object]:
    def pick(key: str) -> list[float]:
        return sorted(float(s[key]) for s in samples)

    ratios, overheads = pick("ratio"), pick("overhead_ms")
    return {
        "runs": len(samples),
        "pipeline_s": round(statistics.median(pick("pipeline_s")), 3),
        "limit_s": round(statistics.median(pick("limit_s")), 3),
        "upload_s": round(statistics.median(pick("upload_s")), 3),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_max": round(ratios[-1], 3),
        "overhead_ms_median": round(statistics.median(overheads), 1),
        "overhead_ms_max": round(overheads[-1], 1),
        "samples": samples,
    }


async def one_agent(agents: list[AgentProcess], index: Index) -> float:
    """One agent's own update of the next generation (the others idle, left one behind)."""
    snapshot, _ = await asyncio.to_thread(index.next)
    started = time.perf_counter()
    response = await asyncio.to_thread(agents[0].update, snapshot)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed


async def roll_out(
    handler: RolloutHandler, publisher: RecordingPublisher, index: Index,
    rtt_of: dict[int, float], times: AgentTimes,
) -> dict[str, Any]:  # fmt: skip
    """Upload the next generation, roll it out; the pipeline's time against the limit's, and
    where the roll-out's time went (`steps`, ms)."""
    times.clear()
    publisher.clear()
    snapshot, request = await asyncio.to_thread(index.next)
    upload_s = index.upload_s
    started = time.perf_counter()
    await handler.handle([IndexSynced(snapshot=snapshot, requests=[request])])
    ended = time.perf_counter()
    rollout_s = ended - started
    events = publisher.events
    outcome = type(events[-1]).__name__
    assert outcome == "FleetUpdated", f"roll-out ended with {outcome}: {events[-1]}"
    missing = {port: times.posts.get(port, []) for port in rtt_of if port not in times.by_port}
    assert not missing, f"no apply time from {len(missing)} agent(s); their answers: {missing}"
    slowest = max(times.by_port[port] + rtt for port, rtt in rtt_of.items())
    pipeline, limit = upload_s + rollout_s, upload_s + slowest
    return {
        "upload_s": round(upload_s, 4), "rollout_s": round(rollout_s, 4),
        "pipeline_s": round(pipeline, 4), "limit_s": round(limit, 4),
        "slowest_agent_s": round(slowest, 4), "ratio": round(pipeline / limit, 3),
        "overhead_ms": round((pipeline - limit) * 1000, 1),
        "steps": steps(times, rtt_of, publisher, started, ended),
    }  # fmt: skip


def steps(
    times: AgentTimes, rtt_of: dict[int, float], publisher: RecordingPublisher, started: float,
    ended: float,
) -> dict[str, float]:  # fmt: skip
    """Where one roll-out's time went, in ms: before the first update call left; each call's
    time beyond its agent's own apply and its round trip (HTTP, the agent's request handling,
    scheduling on a shared box: median and max); after the last answer (the last events); the
    time spent publishing events; the calls that were not updates (status reads, page asks)."""
    ms = 1000
    beyond = sorted(
        (times.answered[port] - times.sent[port] - times.by_port[port] - rtt) * ms
        for port, rtt in rtt_of.items()
    )
    last_answer = max(times.answered.values())
    # the call beyond apply + RTT, split: in the agent's route beyond its apply (the body
    # read and checked, the answer built), and outside it (the HTTP server and client, the
    # relay, both ends' event loops waiting for a core)
    in_route = sorted((times.handler[p] - times.by_port[p]) * ms for p in times.handler)
    outside = sorted(
        (times.answered[p] - times.sent[p] - times.handler[p] - rtt) * ms
        for p, rtt in rtt_of.items()
        if p in times.handler
    )
    split = {}
    if in_route:
        split = {
            "agent_route_beyond_apply_ms_median": round(statistics.median(in_route), 1),
            "agent_route_beyond_apply_ms_max": round(in_route[-1], 1),
            "outside_agent_route_ms_median": round(statistics.median(outside), 1),
            "outside_agent_route_ms_max": round(outside[-1], 1),
        }
    slowest = max(rtt_of, key=lambda p: times.by_port[p] + rtt_of[p])
    return {
        "before_first_call_ms": round((min(times.sent.values()) - started) * ms, 1),
        # when the slowest machine's call left (calls leave one after another)
        "slowest_call_sent_ms": round((times.sent[slowest] - started) * ms, 1),
        "slowest_call_beyond_apply_and_rtt_ms": round(
            (
                times.answered[slowest]
                - times.sent[slowest]
                - times.by_port[slowest]
                - rtt_of[slowest]
            )
            * ms,
            1,
        ),
        "call_beyond_apply_and_rtt_ms_median": round(statistics.median(beyond), 1),
        "call_beyond_apply_and_rtt_ms_max": round(beyond[-1], 1),
        **split,
        "after_last_answer_ms": round((ended - last_answer) * ms, 1),
        "publishing_ms": round(publisher.publishing_s * ms, 1),
        "events": len(publisher.events),
        "other_calls": times.other_calls,
    }


HEADER = (
    f"{'agents':>6} {'mode':>10} {'conc':>5} {'pipeline s':>10} {'limit s':>8} {'ratio':>6} "
    f"{'ratio max':>9} {'overhead ms':>11} {'max ms':>8}"
)


def print_row(n: int, mode: str, row: dict[str, object]) -> None:
    print(
        f"{n:>6} {mode:>10} {row['concurrency']!s:>5} {row['pipeline_s']!s:>10} "
        f"{row['limit_s']!s:>8} {row['ratio_median']!s:>6} {row['ratio_max']!s:>9} "
        f"{row['overhead_ms_median']!s:>11} {row['overhead_ms_max']!s:>8}",
        flush=True,
    )


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the table is the output
    parser = bench_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--runs", type=int, default=5, help="roll-outs in the parallel mode")
    parser.add_argument("--rtt-ms", type=float, nargs=2, default=[20.0, 150.0],
                        metavar=("MIN", "MAX"), help="agents' round trips, spread evenly")  # fmt: skip
    args = parser.parse_args()
    if args.tiny:
        args.sizes, args.runs = [2], 1
    print(HEADER)
    rows: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp,
        nats_server(Path(tmp)) as nats_url,
        s3_bucket(Path(tmp)) as s3,
    ):
        work = Path(tmp)
        index = Index(work, s3)
        await asyncio.to_thread(index.next)  # generation 1: what the agents boot onto
        # one fleet for every size: each size is its first N agents (the smallest first), the
        # others idle meanwhile and catch up in the next size's warm-up
        fleet, agents = await asyncio.to_thread(start_fleet, work, s3, max(args.sizes))
        try:
            for n in sorted(args.sizes):
                rows.append(
                    await measure_size(
                        fleet, agents[:n], args.runs, tuple(args.rtt_ms), work, nats_url, index
                    )
                )
        finally:
            await asyncio.to_thread(fleet.close)
    results = results_file("rollout_parallel.json")
    results.write_text(json.dumps({
        "benchmark": "rollout_parallel", "when": dt.datetime.now(dt.UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": os.getloadavg()[0]},
        "index": {"studios": 75, "showcases": len(index.rows.showcases)},
        "runs": args.runs, "rtt_ms": args.rtt_ms, "sizes": rows,
    }, indent=2) + "\n")  # fmt: skip
    print(f"wrote {results}")


if __name__ == "__main__":
    asyncio.run(main())
