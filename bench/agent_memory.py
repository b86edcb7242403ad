"""machine-agent: resident memory of a real agent process, idle and during updates, and its apply
times, on the realistic index and at 10× it.

    uv run python bench/agent_memory.py [--scales 1 10] [--tiny]

For each scale: `python -m machine_agent` started on a fresh data directory against a real S3
endpoint (`weed mini`, started here unless S3_ENDPOINT_URL is set), nothing published yet
(`idle`: its resident set once it answers /healthz); then three updates through its own HTTP API
(`POST /showcase/update_config`, as the updater sends them): `full` (a machine with nothing),
`incremental` (one new showcase), `unchanged` (a new generation of the same rows). For each: the
agent's own apply time (its answer's `timings.total`) and its peak resident set during the
update (VmHWM, reset before each update through /proc/PID/clear_refs); and its resident set once
idle again. The index: the tests' Rails fixture (80 studios, ~370 showcases, 300 users); 10×:
800 studios, ~3,700 showcases, 3,000 users. Target (issue 18): ≤ 70 MiB idle and during an
update on the realistic index. Prints a table, writes bench/results/agent_memory.json.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support (agents and the index builder)

from benchkit import parser as bench_parser  # noqa: E402
from benchkit import results_file, s3_bucket  # noqa: E402
from showcase_common.index import Showcase  # noqa: E402
from showcase_common.settings import S3Settings  # noqa: E402

from tests.support.agents import AgentFleet, publish_snapshot, snapshot_store  # noqa: E402
from tests.support.rails_fixture import rails_rows, write_rails_index  # noqa: E402

MIB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> bool:
    """Reset the process's peak resident set (VmHWM) to its current one; False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def one_scale(scale: int, work: Path, settings: S3Settings) -> dict[str, Any]:
    rows = rails_rows(10, locations=80 * scale, users=300 * scale)
    store = snapshot_store(settings)
    fleet = AgentFleet(work / f"agents-{scale}", settings)
    agent = fleet.create(f"mem-{scale}", "iad")
    try:
        agent.start(240)
        assert agent.proc is not None
        pid = agent.proc.pid
        time.sleep(1.0)  # let start-up's garbage go (a measurement, not a test)
        idle_kib = status_kib(pid, "VmRSS")
        extra = Showcase(id=10**6, location_id=rows.locations[0].id or 0, year=2026, key="bench-new",
                         name="Bench New", order=10**6, date="2026-06-20")  # fmt: skip
        plain, more = work / f"plain-{scale}.sqlite3", work / f"more-{scale}.sqlite3"
        write_rails_index(plain, rows)
        rows.showcases.append(extra)
        write_rails_index(more, rows)
        scenarios = []
        for generation, (name, path) in enumerate(
            (("full", plain), ("incremental", more), ("unchanged", more)), start=1
        ):
            snapshot = publish_snapshot(store, path, 10 * scale + generation)  # one bucket
            resettable = reset_peak(pid)
            started = time.perf_counter()
            response = agent.update(snapshot)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text
            answer = response.json()
            scenarios.append({
                "scenario": name,
                "apply_ms": round(1000 * answer["timings"]["total"], 1),
                "call_ms": round(1000 * elapsed, 1),
                "pages_rendered": answer["pages_rendered"],
                "pages_total": answer["pages_total"],
                "peak_rss_mib": mib(status_kib(pid, "VmHWM")),
                "peak_is_since_start": not resettable,
            })  # fmt: skip
        after_kib = status_kib(pid, "VmRSS")
    finally:
        fleet.close()
    return {
        "scale": scale,
        "index": {"locations": len(rows.locations), "showcases": len(rows.showcases),
                  "users": len(rows.users), "bytes": more.stat().st_size},
        "idle_rss_mib": mib(idle_kib),
        "idle_after_updates_rss_mib": mib(after_kib),
        "updates": scenarios,
    }  # fmt: skip


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args()
    if args.tiny:
        args.scales = [1]
    with (
        tempfile.TemporaryDirectory(prefix="bench-agent-mem-") as tmp,
        s3_bucket(Path(tmp)) as settings,
    ):
        results = [one_scale(scale, Path(tmp), settings) for scale in args.scales]
    print(f"{'scale':>5} {'scenario':>12} {'pages':>11} {'apply ms':>9} {'peak RSS MiB':>13}")
    for result in results:
        print(f"{result['scale']:>5} {'idle':>12} {'':>11} {'':>9} {result['idle_rss_mib']:>13}")
        for row in result["updates"]:
            pages = f"{row['pages_rendered']}/{row['pages_total']}"
            print(f"{result['scale']:>5} {row['scenario']:>12} {pages:>11} {row['apply_ms']:>9} "
                  f"{row['peak_rss_mib']:>13}")  # fmt: skip
        print(f"{result['scale']:>5} {'idle after':>12} {'':>11} {'':>9} "
              f"{result['idle_after_updates_rss_mib']:>13}")  # fmt: skip
    out = results_file("agent_memory.json")
    out.write_text(json.dumps({
        "benchmark": "agent_memory", "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_1m": round(os.getloadavg()[0], 2)},
        "target_mib": 70, "scales": results,
    }, indent=2) + "\n")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
