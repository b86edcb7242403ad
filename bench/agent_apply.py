"""machine-agent: apply + regenerate + prerender time on a realistic index.

    uv run python bench/agent_apply.py [--runs 3] [--store s3|memory] [--tiny]

The index: the tests' realistic Rails fixture (tests/support/rails_fixture.py: 80 locations,
about 370 showcases over five years, 300 users, the Fly regions). Scenarios, each on a fresh data dir per run:
  full         a machine with nothing: every page rendered
  incremental  one new showcase: its page and its studio's page
  unchanged    a new generation with the same rows: nothing rendered, no file rewritten
  no-op        the served generation again (what a redelivered roll-out costs)
`--store s3` (default) downloads from a real S3 endpoint (`weed mini`, started here unless
S3_ENDPOINT_URL is set); `--store memory` leaves S3 out. Prints a table (median of the runs,
milliseconds) and writes bench/results/agent_apply_<store>.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support (the index builder shared with the tests)
sys.path.insert(0, str(ROOT / "bench"))  # for benchkit

from benchkit import parser as bench_parser  # noqa: E402
from benchkit import results_file, s3_bucket  # noqa: E402
from machine_agent.applier import PHASES, Applier, ApplyResult  # noqa: E402
from showcase_common.events import Snapshot  # noqa: E402
from showcase_common.index import Showcase  # noqa: E402
from showcase_common.snapshots import Pin, Pointer, S3SnapshotStore  # noqa: E402

from tests.support.agents import publish_snapshot  # noqa: E402
from tests.support.rails_fixture import RailsRows, rails_rows, write_rails_index  # noqa: E402


def realistic_rows(seed: int = 10) -> RailsRows:
    """The realistic Rails index of the tests (tests/support/rails_fixture.py)."""
    return rails_rows(seed)


class DirectoryStore(S3SnapshotStore):
    """Snapshots in a local directory: the agent's work without the network."""

    def __init__(self, root: Path) -> None:
        super().__init__(client=None, bucket="local")
        self.root = root
        self.pointer: Snapshot | None = None

    def upload(self, path: Path, generation: int, sha256: str) -> Snapshot:
        target = self.root / self.generation_key(generation)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return Snapshot(
            generation=generation,
            object_key=self.generation_key(generation),
            sha256=sha256,
            size=target.stat().st_size,
        )

    def latest(self) -> tuple[Snapshot | None, str | None]:
        return self.pointer, None

    def read_pointer(self) -> tuple[Pointer | None, str | None]:
        return (Pointer.of(self.pointer) if self.pointer else None), None

    def advance_pointer(
        self, snapshot: Snapshot, expected_etag: str | None, pin: Pin | None = None
    ) -> None:
        self.pointer = snapshot

    def download(self, snapshot: Snapshot, dest: Path) -> None:
        shutil.copyfile(self.root / snapshot.object_key, dest)
        from showcase_common.snapshots import ChecksumMismatch, sha256_file

        if sha256_file(dest) != snapshot.sha256:
            raise ChecksumMismatch(snapshot.object_key)


@contextlib.contextmanager
def s3_store(work: Path) -> Iterator[S3SnapshotStore]:
    with s3_bucket(work) as settings:
        yield S3SnapshotStore.from_settings(settings)


def one_run(store: S3SnapshotStore, work: Path, run: int) -> dict[str, ApplyResult]:
    rows = realistic_rows()
    extra = Showcase(
        id=10_000,
        location_id=1,
        year=2026,
        key="brand-new",
        name="Brand New Showcase",
        order=10_000,
        date="2026-06-20",
    )
    base = run * 10
    plain, more = work / f"plain-{run}.sqlite3", work / f"more-{run}.sqlite3"
    write_rails_index(plain, rows)
    rows.showcases.append(extra)
    write_rails_index(more, rows)
    snapshots = [
        publish_snapshot(store, plain, base + 1),
        publish_snapshot(store, more, base + 2),
        publish_snapshot(store, more, base + 3),
    ]
    applier = Applier(store, work / f"agent-{run}")
    applier.open()  # what the agent's start-up does

    async def scenarios() -> dict[str, ApplyResult]:
        results = {}
        for name, snapshot in zip(
            ("full", "incremental", "unchanged", "no-op"), [*snapshots, snapshots[-1]], strict=True
        ):
            started = time.perf_counter()
            result = await applier.apply(snapshot)
            result.timings.setdefault("total", round(time.perf_counter() - started, 4))
            results[name] = result
        return results

    return asyncio.run(scenarios())


def index_size() -> dict[str, int]:
    rows = realistic_rows()
    return {
        "locations": len(rows.locations),
        "showcases": len(rows.showcases),
        "users": len(rows.users),
        "regions": len(rows.regions),
    }


def summarise(runs: list[dict[str, ApplyResult]]) -> list[dict[str, object]]:
    rows = []
    for name in runs[0]:
        results = [r[name] for r in runs]
        row: dict[str, object] = {
            "scenario": name,
            "pages_rendered": results[0].pages_rendered,
            "pages_total": results[0].pages_total,
            "files_changed": results[0].files_changed,
        }
        for phase in (*PHASES, "total"):
            values = [r.timings.get(phase, 0.0) * 1000 for r in results]
            row[f"{phase}_ms"] = round(statistics.median(values), 1)
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    header = ["scenario", "pages", *[f"{p} ms" for p in (*PHASES, "total")]]
    print(" | ".join(f"{h:>12}" for h in header))
    print("-" * (15 * len(header)))
    for row in rows:
        cells = [row["scenario"], f"{row['pages_rendered']}/{row['pages_total']}"]
        cells += [row[f"{p}_ms"] for p in (*PHASES, "total")]
        print(" | ".join(f"{c!s:>12}" for c in cells))


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", choices=("s3", "memory"), default="s3")
    args = parser.parse_args()
    if args.tiny:
        args.runs = 1
    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        work = Path(tmp)
        store_cm = (
            s3_store(work)
            if args.store == "s3"
            else contextlib.nullcontext(DirectoryStore(work / "store"))
        )
        with store_cm as store:
            runs = [one_run(store, work, run) for run in range(args.runs)]
    rows = summarise(runs)
    print(f"machine-agent apply, {args.store} store, median of {args.runs} runs")
    print_table(rows)
    out = results_file(f"agent_apply_{args.store}.json")
    out.write_text(
        json.dumps(
            {
                "benchmark": "agent_apply",
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "store": args.store,
                "runs": args.runs,
                "index": index_size(),
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "load_average_1m": round(os.getloadavg()[0], 2),
                },
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
