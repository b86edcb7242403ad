"""End-to-end time of one studio request in the local run, measured on real parts.

    uv run python bench/e2e_request.py [--requests 5] [--tiny]

Starts the whole local stack (`devstack.Stack`: nats-server, weed mini, SMTP sink, every
service, three machine agents) on free ports in a temporary directory, then submits requests one
after another through `POST /api/showcases` as `studio` and follows each on its WebSocket.
For each: the POST's latency, and the time from the POST to the first message of each step
(syncing, updating, done) — `done` being the end-to-end time the studio waits. The first
request is a warm-up (first connections, first snapshot) and is reported separately.
Prints a table and writes bench/results/e2e_request.json.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from benchkit import parser as bench_parser
from benchkit import results_file
from devstack.stack import Stack
from stack_run import machine_facts, running_stack, studio_location, write_results
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("syncing", "updating", "done")


async def _one(stack: Stack, location_id: int) -> dict[str, float]:
    body = {"name": f"Bench {uuid.uuid4().hex[:8]}", "location_id": location_id}
    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{stack.intake_url}/api/showcases", json=body, auth=("studio", "studio")
        )
    posted = time.perf_counter() - began
    response.raise_for_status()
    created = response.json()
    timings = {"post_s": posted}
    async with connect(created["progress"]["ws_url"]) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message["request_id"] != created["request_id"]:
                continue
            timings.setdefault(f"{message['step']}_s", time.perf_counter() - began)
            if message["status"] == "failed":
                raise RuntimeError(f"request failed: {message}")
            if message["status"] == "completed":
                return timings
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
    warmup = await _one(stack, location_id)
    rows = [await _one(stack, location_id) for _ in range(requests)]
    return {"warmup": warmup, "requests": rows, "summary": _table(rows)}


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    if args.tiny:
        args.requests = 1

    with running_stack("bench-e2e-") as run:
        result: dict[str, Any] = asyncio.run(_bench(run.stack, args.requests))
    startup_s, stop_s = run.start_s, run.stop_s

    print(f"stack start {startup_s:.1f}s, stop {stop_s:.1f}s")
    print(f"warm-up request: done after {result['warmup'].get('done_s', float('nan')):.2f}s")
    print(f"{'metric (from the POST)':<24}{'median s':>10}{'max s':>10}   n={args.requests}")
    for row in result["summary"]:
        print(f"{row['metric']:<24}{row['median']:>10.2f}{row['max']:>10.2f}")
    write_results(
        results_file("e2e_request.json"),
        {
            "bench": "e2e_request",
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine_facts(),
            "stack_start_s": startup_s,
            "stack_stop_s": stop_s,
            **result,
        },
    )


if __name__ == "__main__":
    main()
