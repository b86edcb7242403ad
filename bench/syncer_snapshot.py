"""syncer: snapshot + upload time on a realistic index, and uploads per burst of 30 requests.

    uv run python bench/syncer_snapshot.py [--runs 10] [--bursts 3] [--tiny]

The index: 75 studios, 370 showcases, 300 users (WAL, as intake keeps it). Measured:
  snapshot     online backup → integrity_check → sha256, on local disk
  publish      one whole publication: pointer read, snapshot, upload of the generation object,
               pointer CAS, legacy copy (what one batch costs the syncer against S3)
  burst        30 ShowcaseCreated published to a running syncer (real nats-server), all at
               once and spread evenly over 1.5 s: how many uploads (generations) covered them,
               and the time until all 30 were covered by an IndexSynced
S3 is a real endpoint (`weed mini`, started here unless S3_ENDPOINT_URL is set). Prints a table
(milliseconds) and writes bench/results/syncer_snapshot.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for the index builder shared with the tests
sys.path.insert(0, str(ROOT / "bench"))  # for benchkit

from benchkit import nats_server, results_file, s3_bucket  # noqa: E402
from benchkit import parser as bench_parser  # noqa: E402
from showcase_common import events  # noqa: E402
from showcase_common.bus import Publisher, connect  # noqa: E402
from showcase_common.snapshots import S3SnapshotStore  # noqa: E402
from syncer.bootstrap import SyncerPorts, make_syncer  # noqa: E402
from syncer.config import SyncerConsumerSettings, SyncerSettings  # noqa: E402
from syncer.snapshot import Snapshotter  # noqa: E402

from tests.integration.syncer.indexdb import create_index  # noqa: E402
from tests.support.fakes import FakePublisher, MemoryLedger  # noqa: E402
from tests.support.signing import TEST_SIGNING_KEY  # noqa: E402
from tests.support.syncer import Watch, new_request, running_syncer  # noqa: E402
from tests.support.waiting import eventually  # noqa: E402

STUDIOS, SHOWCASES, USERS, BURST = 75, 370, 300, 30


def stats(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples_s)
    return {
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
        "min_ms": round(ms[0], 1),
    }


def time_snapshots(index: Path, staging: Path, runs: int) -> tuple[list[float], int]:
    snapshotter, samples, size = Snapshotter(index), [], 0
    for _ in range(runs):
        started = time.perf_counter()
        snap = snapshotter.take(staging)
        samples.append(time.perf_counter() - started)
        size = snap.size
        snap.discard()
    return samples, size


async def time_publications(settings: SyncerSettings, runs: int) -> list[float]:
    syncer = make_syncer(
        settings,
        SyncerPorts(
            store=S3SnapshotStore.from_settings(settings),
            publisher=FakePublisher(),
            ledger=MemoryLedger(),
            snapshotter=Snapshotter(settings.index_db_path),
        ),
    )
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await syncer.writer.publish()
        samples.append(time.perf_counter() - started)
    return samples


def _covered(watch: Watch, count: int) -> Callable[[], bool]:
    return lambda: len(watch.covered()) == count


async def bursts(
    settings: SyncerSettings, index: Path, count: int, spread_s: float
) -> list[dict[str, Any]]:
    """`count` rounds of 30 requests, all at once (spread 0) or evenly over `spread_s`."""
    results = []
    async with running_syncer(settings):
        nc = await connect(settings.nats_url, "bench")
        publisher = Publisher(nc.jetstream())
        for _ in range(count):
            watch = await Watch().start(nc)
            burst = [new_request(index, int(uuid.uuid4().int % 10**9)) for _ in range(BURST)]
            started = time.perf_counter()
            if spread_s:
                for event in burst:
                    await publisher.publish(event)
                    await asyncio.sleep(spread_s / BURST)
            else:
                await asyncio.gather(*(publisher.publish(e) for e in burst))
            await eventually(_covered(watch, BURST), 120, "the burst covered")
            elapsed = time.perf_counter() - started
            uploads = len({e.snapshot.generation for e in watch.of(events.IndexSynced)})
            results.append(
                {
                    "spread_s": spread_s,
                    "uploads": uploads,
                    "all_covered_ms": round(elapsed * 1000, 1),
                }
            )
        await nc.close()
    return results


async def main(runs: int, burst_count: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        s3_bucket(Path(tmp)) as s3,
        nats_server(Path(tmp)) as nats_url,
    ):
        work = Path(tmp)
        index = work / "index" / "index.sqlite3"
        create_index(index, studios=STUDIOS, showcases=SHOWCASES, users=USERS)
        settings = SyncerSettings(
            _env_file=None,
            nats_url=nats_url,
            **s3.model_dump(),
            index_db_path=index,
            syncer_work_dir=work / "staging",
            consumer=SyncerConsumerSettings(fetch_timeout_s=0.2),
            snapshot_signing_key=TEST_SIGNING_KEY,  # the tests' pair, as the tests' syncers
        )
        snap_samples, size = time_snapshots(index, work / "staging", runs)
        publish_samples = await time_publications(settings, runs)
        burst_results = await bursts(settings, index, burst_count, 0.0)
        burst_results += await bursts(settings, index, burst_count, 1.5)
    return {
        "index": {"studios": STUDIOS, "showcases": SHOWCASES, "users": USERS, "bytes": size},
        "runs": runs,
        "snapshot": stats(snap_samples),
        "publish": stats(publish_samples),
        "bursts_of_30": burst_results,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        "s3": "external" if os.environ.get("S3_ENDPOINT_URL") else "weed mini (local)",
    }


def print_table(result: dict[str, Any]) -> None:
    idx = result["index"]
    print(
        f"index: {idx['studios']} studios, {idx['showcases']} showcases, "
        f"{idx['users']} users, {idx['bytes']} bytes; {result['runs']} runs; S3: {result['s3']}"
    )
    print(f"{'step':<34}{'median ms':>10}{'p95 ms':>10}{'min ms':>10}")
    for name, key in (
        ("snapshot (backup+check+sha256)", "snapshot"),
        ("publish (snapshot→S3→pointer)", "publish"),
    ):
        s = result[key]
        print(f"{name:<34}{s['median_ms']:>10}{s['p95_ms']:>10}{s['min_ms']:>10}")
    print(f"{'30 requests':<34}{'uploads':>10}{'all ms':>10}")
    for burst in result["bursts_of_30"]:
        how = f"over {burst['spread_s']}s" if burst["spread_s"] else "at once"
        print(f"{'  ' + how:<34}{burst['uploads']:>10}{burst['all_covered_ms']:>10}")
    print(f"load average (1 min) at the end: {result['machine']['load_avg_1m']}")


if __name__ == "__main__":
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--bursts", type=int, default=3)
    args = parser.parse_args()
    if args.tiny:
        args.runs, args.bursts = 1, 1
    outcome = asyncio.run(main(args.runs, args.bursts))
    print_table(outcome)
    out = results_file("syncer_snapshot.json")
    out.write_text(json.dumps(outcome, indent=2) + "\n")
    print(f"wrote {out}")
