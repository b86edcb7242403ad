"""`make bench`: every benchmark, one after another, then one table in docs/performance.md.

    uv run python bench/run_all.py [--only NAME ...] [--tiny] [--no-report]

A benchmark that fails does not stop the others: each one's exit status and time are kept, the
failures are named at the end and the exit status is 1. The table (docs/performance.md) is
written from the result files the run produced (bench/results/*.json, or BENCH_RESULTS_DIR):
the machine (CPU, cores, Python, the load average before and after, since the box may be shared),
the command, the date, and for each benchmark its headline figures next to the issue's targets.
`--tiny` runs each at its smallest size (a smoke test; no report is written). What follows the
analysis marker in docs/performance.md (why a target is missed, profiles) is kept as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from benchkit import ROOT, parser, results_file

REPORT = ROOT / "docs" / "performance.md"

BENCHMARKS: list[tuple[str, list[str]]] = [
    # (script, arguments at full size): sized so that all of them take under 10 minutes on a
    # 2-core box that runs nothing else; one after another, since each measures time or memory
    # and any other work on the box skews it. Shared set-ups: e2e_request's fleets of 8 and 32
    # agents and its burst run on one stack (32 agents, each fleet its first N), and
    # rollout_parallel's sizes on one fleet; POST → completed on the local run's three agents
    # is crash_recovery's baseline (no separate local run).
    ("intake_load", ["--requests", "800", "--concurrency", "16"]),
    ("intake_load", ["--requests", "400", "--concurrency", "16", "--scheme", "bcrypt12"]),
    ("gateway_capacity", ["--levels", "10000", "--samples", "200"]),
    ("agent_apply", ["--runs", "3"]),
    ("agent_memory", ["--scales", "1", "10"]),
    ("syncer_snapshot", ["--runs", "5", "--bursts", "1"]),
    (
        "e2e_request",
        ["--requests", "0", "--agents", "8", "32", "--fleet-requests", "5", "--burst", "50"],
    ),
    ("crash_recovery", ["--rounds", "2"]),
    ("rollout_parallel", ["--sizes", "8", "32", "--runs", "3"]),
    ("compose_stack", ["--requests", "1"]),
]
"""What `make bench` runs. Every bench/*.py script is in it (tests/bench checks)."""

NOT_BENCHMARKS = {"run_all", "benchkit", "stack_run", "intake_probes"}


def run_one(script: str, args: list[str]) -> tuple[int, float, str]:
    """Run one benchmark; (exit status, seconds, the tail of its output)."""
    command = [sys.executable, str(ROOT / "bench" / f"{script}.py"), *args]
    print(f"== {' '.join(['bench/' + script + '.py', *args])}", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    status = process.wait()
    return status, time.monotonic() - started, "".join(lines[-20:])


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def load(path: str) -> dict[str, Any] | None:
    file = results_file(path)
    return json.loads(file.read_text()) if file.exists() else None


Row = tuple[str, str, str, str]  # benchmark, measure, value, target


def _intake_rows(name: str, label: str) -> list[Row]:
    r = load(name)
    if r is None:
        return []
    target_rate = "≥ 300/s"
    return [
        (f"intake ({label})", "accepted POST/s, 16 clients", f"{r['requests_per_s']}", target_rate),
        (f"intake ({label})", "p50 / p99 ms", f"{r['p50_ms']} / {r['p99_ms']}", "p99 ≤ 100"),
        (f"intake ({label})", "GET /healthz/s, same run", f"{r.get('healthz_per_s')}", ""),
        (f"intake ({label})", "ratio to /healthz", f"{r.get('ratio_to_healthz')}", "≥ 0.4"),
        (f"intake ({label})", "answers", f"{r['answers']}", "all 201"),
    ]


def _gateway_rows() -> list[Row]:
    r = load("gateway_capacity.json")
    if r is None:
        return []
    top = max(r["levels"], key=lambda level: level["connections"])
    d = r["delay_ms"]
    return [
        ("gateway", f"KiB per connection at {top['connections']}",
         f"{top.get('kib_per_connection')}", "≤ 30"),
        ("gateway", f"event → message p50 / p99 ms ({d['connections_open']} open)",
         f"{d['p50']} / {d['p99']}", "p99 ≤ 50"),
    ]  # fmt: skip


def _agent_rows() -> list[Row]:
    r = load("agent_apply_s3.json")
    if r is None:
        return []
    rows: list[Row] = []
    for row in r["results"]:
        pages = f"{row['pages_rendered']}/{row['pages_total']} pages"
        rows.append(("agent apply", f"{row['scenario']} ({pages}) ms", f"{row['total_ms']}", ""))
    for key, label in (("peak_rss_mib", "agent peak RSS MiB"),):
        if key in r:
            rows.append(("agent apply", label, f"{r[key]}", "≤ 70"))
    return rows


def _agent_memory_rows() -> list[Row]:
    r = load("agent_memory.json")
    if r is None:
        return []
    rows: list[Row] = []
    for scale in r["scales"]:
        bench = f"agent process, index ×{scale['scale']} ({scale['index']['showcases']} showcases)"
        target = "≤ 70" if scale["scale"] == 1 else ""
        rows.append((bench, "idle RSS MiB", f"{scale['idle_rss_mib']}", target))
        for u in scale["updates"]:
            pages = f"{u['pages_rendered']}/{u['pages_total']} pages"
            rows.append((bench, f"{u['scenario']} ({pages}): apply ms / peak RSS MiB",
                         f"{u['apply_ms']} / {u['peak_rss_mib']}", target))  # fmt: skip
    return rows


def _syncer_rows() -> list[Row]:
    r = load("syncer_snapshot.json")
    if r is None:
        return []
    bursts = ", ".join(
        f"{b['uploads']} uploads in {b['all_covered_ms']} ms"
        + (f" (over {b['spread_s']} s)" if b["spread_s"] else " (at once)")
        for b in r["bursts_of_30"]
    )
    return [
        ("syncer", "snapshot median ms", f"{r['snapshot']['median_ms']}", ""),
        ("syncer", "publish (snapshot → S3 → pointer) median ms", f"{r['publish']['median_ms']}",
         ""),
        ("syncer", "30 requests", bursts, ""),
    ]  # fmt: skip


TIMELINE = [
    ("showcase_created_stored_ms", "ShowcaseCreated stored"),
    ("index_synced_stored_ms", "IndexSynced stored"),
    ("first_call_ms", "first machine call"),
    ("last_answer_ms", "last answer"),
    ("fleet_updated_stored_ms", "FleetUpdated stored"),
    ("completed_received_ms", "`completed` received"),
]
"""The few steps of `e2e_request`'s per-request timeline a reader needs (the JSON has all)."""
OVERHEAD = [
    ("showcase_created_stored_ms", "POST → ShowcaseCreated stored"),
    ("created_to_synced_beyond_publication_ms", "→ IndexSynced stored, beyond the publication"),
    ("synced_to_first_call_ms", "IndexSynced → first call"),
    ("calls_beyond_slowest_ms", "calls beyond the slowest apply + RTT"),
    ("last_answer_to_fleet_stored_ms", "last answer → FleetUpdated stored"),
    ("fleet_stored_to_completed_stored_ms", "→ `completed` stored by the gateway"),
    ("completed_stored_to_received_ms", "→ received on the socket"),
]


def _e2e_rows() -> list[Row]:
    r = load("e2e_request.json")
    if r is None:
        return []
    rows: list[Row] = [
        ("e2e, local stack (3 agents)", f"{row['metric']} median s", f"{row['median']:.3f}", "")
        for row in r.get("summary", [])
    ]
    for f in r.get("fleets", []):
        s, (low, high) = f["summary"], f["rtt_ms"]
        bench = f"e2e POST → completed, N={f['agents']} agents, RTT {low}–{high} ms"
        canary = "canary on" if f.get("canary") else "canary off"
        n = len(f["requests"])
        rows += [
            (bench, f"e2e / limit s (median of {n}, {canary})",
             f"{s['e2e_s_median']} / {s['limit_s_median']}", ""),
            (bench, "ratio median / p95", f"{s['ratio_median']} / {s['ratio_p95']}",
             "≤ 1.10 / ≤ 1.25"),
            (bench, "overhead ms p50 / p99", f"{s['overhead_ms_p50']} / {s['overhead_ms_p99']}",
             "p50 ≤ 30 / p99 ≤ 100"),
        ]  # fmt: skip
        if steps := s.get("timeline_ms_median"):
            rows += [
                (bench, "timeline, ms after the POST (median)",
                 ", ".join(f"{label} {steps[key]}" for key, label in TIMELINE if key in steps), ""),
                (bench, "overhead by part, ms (median)",
                 ", ".join(f"{label} {steps[key]}" for key, label in OVERHEAD if key in steps), ""),
            ]  # fmt: skip
        if "burst" in f:
            b = f["burst"]
            rows.append(
                (
                    f"burst, N={f['agents']} agents",
                    f"{b['requests']} requests from {b['users']} studios in {b['sent_over_s']} s",
                    f"{b['uploads']} uploads, {b['machine_calls']} machine calls "
                    f"({b['machine_applies']} applies), last completed after "
                    f"{b['last_completed_s']} s",
                    "",
                )
            )
    return rows


def _crash_rows() -> list[Row]:
    r = load("crash_recovery.json")
    if r is None:
        return []
    how = "a standby replica takes over" if r.get("standby") else "restarted, no standby"

    def measured(row: dict[str, Any]) -> str:
        if row["scenario"] == "baseline":  # nothing killed: no ack wait, no restart
            return f"baseline: {row['measured']} median s"
        return (f"{row['scenario']}: {row['measured']} median s (ack wait {row['ack_wait_s']} s, "
                f"restart {row['restart_median_s']:.2f} s)")  # fmt: skip

    return [
        (f"recovery ({how})", measured(row), f"{row['median']:.2f}",
         "" if row["scenario"] == "baseline" else "p50 ≤ 3")
        for row in r["summary"]
    ]  # fmt: skip


def _rollout_rows() -> list[Row]:
    r = load("rollout_parallel.json")
    if r is None:
        return []
    rows: list[Row] = []
    for size in r["sizes"]:
        n, (low, high) = size["agents"], size["rtt_ms"]
        for mode, m in size["modes"].items():
            bench = f"upload + roll-out, N={n} agents, RTT {low}–{high} ms"
            what = (
                f"{mode} (concurrency {m['concurrency']}, canary {'on' if m['canary'] else 'off'})"
            )
            rows.append(
                (bench, f"{what}: pipeline / limit s", f"{m['pipeline_s']} / {m['limit_s']}", "")
            )
            parallel = mode == "parallel"
            rows.append(
                (
                    bench,
                    f"{what}: ratio median / max of {m['runs']}",
                    f"{m['ratio_median']} / {m['ratio_max']}",
                    "≤ 1.10 / ≤ 1.25" if parallel else "",
                )
            )
            rows.append(
                (
                    bench,
                    f"{what}: overhead ms median / max",
                    f"{m['overhead_ms_median']} / {m['overhead_ms_max']}",
                    "p50 ≤ 30 / p99 ≤ 100" if parallel else "",
                )
            )
        rows.append((f"N={n}", "one agent's own update alone s", f"{size['one_agent_s']}", ""))
    return rows


def _compose_rows() -> list[Row]:
    r = load("compose_stack.json")
    if r is None:
        return []
    if "skipped" in r:
        return [("compose stack", "skipped", r["skipped"], "")]
    return [
        ("compose stack", "image build s / ready s",
         f"{r['image_build_s']} / {r['stack_ready_s']}", ""),
        ("compose stack", "request median s", f"{r['request_median_s']}", ""),
    ]  # fmt: skip


ROWS: list[Callable[[], list[Row]]] = [
    lambda: _intake_rows("intake_load.json", "apr1"),
    lambda: _intake_rows("intake_load_bcrypt12.json", "bcrypt cost 12"),
    _gateway_rows,
    _agent_rows,
    _agent_memory_rows,
    _syncer_rows,
    _e2e_rows,
    _crash_rows,
    _rollout_rows,
    _compose_rows,
]


def report(
    command: str, began: dt.datetime, ran: list[dict[str, Any]], load_before: list[float]
) -> str:
    facts = machine()
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (bench/run_all.py) from the result files of one run; the details",
        "(every figure, every row) are in bench/results/*.json. Figures on a shared, loaded box",
        "vary from run to run: read ratios measured within one run, not absolute times.",
        "",
        f"- date: {began.isoformat(timespec='seconds')} (took "
        f"{(dt.datetime.now(dt.UTC) - began).total_seconds() / 60:.1f} min)",
        f"- command: `{command}`",
        f"- machine: {facts['cpu']}, {facts['cores']} cores, {facts['memory_gib']} GiB, "
        f"{facts['platform']}, Python {facts['python']}",
        f"- load average (1, 5, 15 min) before: {', '.join(f'{x:.1f}' for x in load_before)}; "
        f"after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
    ]
    for rows in ROWS:
        for bench, measure, value, target in rows():
            lines.append(f"| {bench} | {measure} | {value} | {target} |")
    lines += ["", "| run | exit | seconds |", "|---|---|---|"]
    for entry in ran:
        lines.append(f"| `{entry['command']}` | {entry['status']} | {entry['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


ANALYSIS = "<!-- analysis: written by hand, kept by make bench -->"


def kept_analysis() -> str:
    """The hand-written part of docs/performance.md (from the ANALYSIS marker on), kept as is."""
    if not REPORT.exists():
        return ""
    text = REPORT.read_text()
    at = text.find(ANALYSIS)
    return "\n" + text[at:] if at >= 0 else ""


def main() -> int:
    args_parser = parser(__doc__)
    args_parser.add_argument("--only", nargs="*", default=None, help="these scripts only")
    args_parser.add_argument("--no-report", action="store_true", help="leave docs/ alone")
    args = args_parser.parse_args()
    began = dt.datetime.now(dt.UTC)
    load_before = list(os.getloadavg())
    ran: list[dict[str, Any]] = []
    for script, full_args in BENCHMARKS:
        if args.only and script not in args.only:
            continue
        bench_args = ["--tiny"] if args.tiny else full_args
        if args.tiny and any(r["command"].startswith(f"{script} ") for r in ran):
            continue  # the same script twice (intake's two schemes): once is enough tiny
        status, seconds, tail = run_one(script, bench_args)
        ran.append({"command": " ".join([script, *bench_args]), "status": status,
                    "seconds": seconds, "tail": tail})  # fmt: skip
    failed = [r for r in ran if r["status"] != 0]
    if not args.tiny and not args.no_report:
        command = "make bench" + (f" (--only {' '.join(args.only)})" if args.only else "")
        REPORT.write_text(report(command, began, ran, load_before) + kept_analysis())
        print(f"wrote {REPORT.relative_to(ROOT)}")
    print(f"\n{len(ran) - len(failed)} of {len(ran)} benchmarks ran in "
          f"{(dt.datetime.now(dt.UTC) - began).total_seconds() / 60:.1f} min")  # fmt: skip
    for entry in failed:
        print(f"FAILED (exit {entry['status']}): bench/{entry['command']}\n{entry['tail']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
