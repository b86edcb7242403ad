"""machine-updater: roll-out time to 8 and 32 real agents, against one agent's own update time.

    uv run python bench/rollout_parallel.py [--sizes 8 32] [--concurrency 8] [--runs 1] [--tiny]

Real parts: a nats-server and `weed mini` started here (or NATS_URL / S3_ENDPOINT_URL), N
`python -m machine_agent` processes on a static fleet, and the updater's own handler (make_handler
with the real HTTP client, fleet and publisher). The index is realistic (75 studios, 370
showcases: the tests' Rails fixture); each generation adds one showcase, so every update is an incremental one.

For each fleet size, after one warm-up roll-out: `one` (median of 3) is a POST /showcase/update_config to a single agent while the others
idle (the agent's own update time as its caller sees it); `roll-out` is the updater bringing all
N agents to the next generation (status, update, truth check, events), once with the default
concurrency and once with all N at once. ratio = roll-out / one: 1.0 would be perfectly
parallel; N would be one after another. On a small box the agents share its cores, so the ratio
grows with N / cores even when the updater is fully parallel: `cpu floor` = N · one / cores is
about the best this box can do when an update is mostly CPU (prerendering). Writes bench/results/rollout_parallel.json.
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
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support (agents and the index builder)
sys.path.insert(0, str(ROOT / "bench"))  # for the realistic index of agent_apply.py

import yaml  # noqa: E402
from agent_apply import realistic_rows  # noqa: E402
from benchkit import parser as bench_parser  # noqa: E402
from benchkit import results_file  # noqa: E402
from devstack.servers import NatsServer, WeedS3  # noqa: E402
from machine_updater.bootstrap import (  # noqa: E402
    UpdaterPorts,
    make_client,
    make_fleet,
    make_handler,
    make_http,
)
from machine_updater.config import UpdaterSettings  # noqa: E402
from machine_updater.feed import JetStreamSnapshotFeed  # noqa: E402
from machine_updater.handlers import RolloutHandler  # noqa: E402
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

STARTUP_S = 600.0


class Index:
    """The realistic index, one more showcase per generation."""

    def __init__(self, work: Path, s3: S3Settings) -> None:
        self.work = work
        self.store = snapshot_store(s3)
        self.rows = realistic_rows()
        self.generation = 0

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
        snapshot = publish_snapshot(self.store, path, self.generation)
        ref = ShowcaseRef(
            showcase_id=n, year=2026, location_key=location.key or "", key=row.key, name=row.name
        )
        return snapshot, RequestRef(
            request_id=f"bench-{n}", user="bench", showcase=ref, redirect_url="/"
        )


@contextlib.contextmanager
def servers(work: Path) -> Iterator[tuple[str, S3Settings]]:
    stack = contextlib.ExitStack()
    nats_url = os.environ.get("NATS_URL")
    if not nats_url:
        nats = NatsServer(work / "nats")
        nats_url = nats.start()
        stack.callback(nats.stop)
    endpoint = os.environ.get("S3_ENDPOINT_URL")
    if not endpoint:
        s3 = WeedS3(work / "s3")
        endpoint = s3.start()
        stack.callback(s3.stop)
    settings = S3Settings(
        s3_endpoint_url=endpoint,
        s3_bucket=f"bench-{uuid.uuid4().hex[:8]}",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "bench"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "bench"),
    )
    with stack:
        snapshot_store(settings).ensure_bucket()
        yield nats_url, settings


def start_fleet(work: Path, s3: S3Settings, n: int) -> tuple[AgentFleet, list[AgentProcess]]:
    fleet = AgentFleet(work / f"agents-{n}", s3)
    agents = [fleet.create(f"a{i + 1}", "iad") for i in range(n)]
    for agent in agents:
        agent.spawn()
    for agent in agents:
        agent.wait_ready(STARTUP_S)
    return fleet, agents


class RecordingPublisher(Publisher):
    """The real publisher, remembering what the roll-out reported."""

    def __init__(self, js: JetStreamContext) -> None:
        super().__init__(js)
        self.events: list[Event] = []

    async def publish(self, event: Event, *, msg_id: str | None = None) -> PubAck:
        self.events.append(event)
        return await super().publish(event, msg_id=msg_id)


@contextlib.asynccontextmanager
async def updater(
    nats_url: str, fleet_file: Path, secret: str, concurrency: int
) -> AsyncIterator[tuple[RolloutHandler, RecordingPublisher]]:
    settings = UpdaterSettings(
        nats_url=nats_url, fleet_file=fleet_file, machine_update_secret=secret,
        concurrency=concurrency,
    )  # fmt: skip
    nc = await connect(nats_url, "bench")
    js = nc.jetstream()
    await ensure_stream(js)
    http = make_http(settings)
    publisher = RecordingPublisher(js)
    try:
        feed = JetStreamSnapshotFeed(js)
        made = UpdaterPorts(
            publisher=publisher,
            feed=feed,
            fleet=make_fleet(settings, http),
            client=make_client(settings, http),
            http=http,
        )
        yield make_handler(settings, made), publisher
    finally:
        await http.aclose()
        await nc.close()


async def measure_size(
    n: int, concurrencies: list[int], runs: int, work: Path, nats_url: str, s3: S3Settings,
    index: Index,
) -> list[dict[str, object]]:  # fmt: skip
    fleet, agents = await asyncio.to_thread(start_fleet, work, s3, n)
    try:
        fleet_file = work / f"fleet-{n}.yaml"
        machines = [{"id": a.agent_id, "region": a.region, "url": a.url} for a in agents]
        fleet_file.write_text(yaml.safe_dump({"machines": machines}))
        # warm-up: every agent's first update loads what it caches; measure the steady state
        await roll_out(nats_url, fleet_file, fleet.secret, n, index)
        rows = []
        for concurrency in concurrencies:
            ones, rollouts = [], []
            for _ in range(runs):
                ones += [await one_agent(agents, index) for _ in range(3)]
                rollouts.append(
                    await roll_out(nats_url, fleet_file, fleet.secret, concurrency, index)
                )
            one, rollout = statistics.median(ones), statistics.median(rollouts)
            rows.append({
                "agents": n, "concurrency": concurrency, "one_agent_s": round(one, 3),
                "rollout_s": round(rollout, 3), "ratio": round(rollout / one, 2),
                "sequential_estimate_s": round(n * one, 3),
                "speedup_vs_sequential": round(n * one / rollout, 2),
                "cpu_floor_s": round(n * one / min(n, os.cpu_count() or 1), 3),
            })  # fmt: skip
            print_row(rows[-1])
        return rows
    finally:
        await asyncio.to_thread(fleet.close)


async def one_agent(agents: list[AgentProcess], index: Index) -> float:
    """One agent's own update of the next generation (the others idle, left one behind)."""
    snapshot, _ = await asyncio.to_thread(index.next)
    started = time.perf_counter()
    response = await asyncio.to_thread(agents[0].update, snapshot)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed


async def roll_out(
    nats_url: str, fleet_file: Path, secret: str, concurrency: int, index: Index
) -> float:
    snapshot, request = await asyncio.to_thread(index.next)
    async with updater(nats_url, fleet_file, secret, concurrency) as (handler, publisher):
        started = time.perf_counter()
        await handler.handle([IndexSynced(snapshot=snapshot, requests=[request])])
        elapsed = time.perf_counter() - started
    events = publisher.events
    outcome = type(events[-1]).__name__
    assert outcome == "FleetUpdated", f"roll-out ended with {outcome}: {events[-1]}"
    return elapsed


def print_row(row: dict[str, object]) -> None:
    print(
        f"{row['agents']:>6} {row['concurrency']:>11} {row['one_agent_s']:>10.3f} "
        f"{row['rollout_s']:>10.3f} {row['ratio']:>6.2f} {row['sequential_estimate_s']:>12.3f} "
        f"{row['speedup_vs_sequential']:>8.2f} {row['cpu_floor_s']:>10.3f}",
        flush=True,
    )


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the table is the output
    parser = bench_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32])
    # the field's default: constructing UpdaterSettings here would ask for its secret
    default_concurrency = UpdaterSettings.model_fields["concurrency"].default
    parser.add_argument("--concurrency", type=int, default=default_concurrency)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if args.tiny:
        args.sizes, args.runs = [2], 1
    print(f"{'agents':>6} {'concurrency':>11} {'one (s)':>10} {'roll-out':>10} {'ratio':>6} "
          f"{'sequential':>12} {'speedup':>8} {'cpu floor':>10}")  # fmt: skip
    rows: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp,
        servers(Path(tmp)) as (
            nats_url,
            s3,
        ),
    ):
        work = Path(tmp)
        index = Index(work, s3)
        await asyncio.to_thread(index.next)  # generation 1: what the agents boot onto
        for n in args.sizes:
            concurrencies = sorted({min(args.concurrency, n), n})
            rows += await measure_size(n, concurrencies, args.runs, work, nats_url, s3, index)
    results = results_file("rollout_parallel.json")
    results.write_text(json.dumps({
        "benchmark": "rollout_parallel", "when": dt.datetime.now(dt.UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": os.getloadavg()[0]},
        "index": {"studios": 75, "showcases": len(index.rows.showcases)},
        "runs": args.runs, "rows": rows,
    }, indent=2) + "\n")  # fmt: skip
    print(f"wrote {results}")


if __name__ == "__main__":
    asyncio.run(main())
