"""The compose stack on podman, measured: image size and build time, the stack's start time
(`podman-compose up -d` until every /readyz answers), and the time studio requests take from
the POST to `completed` on the WebSocket. Prints a table, writes bench/results/compose_stack.json.

    uv run python bench/compose_stack.py --requests 5
Skips (exit 0) where podman cannot run.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support
from benchkit import parser as bench_parser
from benchkit import results_file
from stack_run import machine_facts, write_results

from tests.support.compose import (
    ComposeStack,
    build_image,
    image_exists,
    image_size,
    podman_unavailable,
)
from tests.support.progress import progress_until_final


async def one_request(stack: ComposeStack) -> float:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{stack.url('intake')}/api/showcases",
            json={"name": f"Bench {uuid.uuid4().hex[:8]}", "location_id": 1},
            auth=("studio", "studio"),
        )
    response.raise_for_status()
    created = response.json()
    messages = await progress_until_final(created["progress"]["ws_url"], created["request_id"])
    assert messages[-1]["status"] == "completed", messages[-1]
    return time.monotonic() - started


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    if args.tiny:
        args.requests = 1
    why = podman_unavailable()
    if why:
        print(f"skipped: {why}")
        write_results(results_file("compose_stack.json"), {"skipped": why})
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        # tiny: the image as it is when there is one (a smoke test, not a build measurement)
        reuse = args.tiny and image_exists()
        build_s = None if reuse else build_image(Path(tmp) / "build.log")
        stack = ComposeStack(Path(tmp))
        started = time.monotonic()
        try:
            stack.up()
            up_s = time.monotonic() - started
            stack.wait_ready(timeout_s=300)
            ready_s = time.monotonic() - started
            times = [asyncio.run(one_request(stack)) for _ in range(args.requests)]
        finally:
            down_started = time.monotonic()
            stack.down()
            down_s = time.monotonic() - down_started
    result = {
        "image_bytes": image_size(),
        "image_build_s": None if build_s is None else round(build_s, 2),
        "compose_up_s": round(up_s, 2),
        "stack_ready_s": round(ready_s, 2),
        "first_request_s": round(times[0], 3),
        "request_median_s": round(statistics.median(times), 3),
        "request_max_s": round(max(times), 3),
        "requests": len(times),
        "teardown_s": round(down_s, 2),
        "machine": machine_facts(),
    }
    for key, value in result.items():
        if key != "machine":
            print(f"  {key:<20}{value}")
    write_results(results_file("compose_stack.json"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
