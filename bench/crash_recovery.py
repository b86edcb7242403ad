"""How long a studio waits when a service crashes mid-step, measured on real parts.

    uv run python bench/crash_recovery.py [--rounds 3] [--no-standby] [--tiny]

Starts the whole local stack (`devstack.Stack`: nats-server, weed mini, SMTP sink, every
service, three machine agents) on free ports in a temporary directory. After one warm-up request,
each round runs three scenarios, one studio request each (`POST /api/showcases` as `studio`,
followed on its WebSocket, every message timestamped on arrival):

- `baseline`: nothing breaks; POST → `completed`.
- `syncer`: S3 is frozen (SIGSTOP of `weed`'s process group: it accepts connections and answers
  nothing), so the sync hangs in the syncer; once NATS monitoring (`/jsz`) shows the syncer's
  durable holding the message unacked, the syncer is SIGKILLed, S3 resumed (SIGCONT) and the
  syncer started again at once. Its successor gets the message when the ack wait runs out.
- `updater`: agent `local-3` is frozen, so the roll-out hangs on it; once the studio sees
  "Live in 2 of 3 regions", machine-updater is SIGKILLed and started again, then the agent
  resumed (the order of `tests/faults/test_nothing_lost.py`).

With a standby (the default), a second replica of the crashed service is started once the first
holds the message (so it is the first that holds it) and is healthy; the kill then hands the
message to the standby (what a fleet with two replicas does; the killed one is restarted too).
`--no-standby`: the killed service alone, restarted: its successor's start-up is in the figure.

For the crash scenarios the figure is kill → `completed` (also kill → the next step, the restart
time, and POST → `completed`). JetStream redelivers the dead consumer's message one ack wait
(2 s) after its last `in_progress()` (heartbeats every 0.5 s), so between 1.5 and 2 s after the
kill, to whichever replica pulls first. The ack wait printed is the one the NATS server holds in each
durable's configuration; `deliveries` is how many times the durable delivered during the
round (`/jsz` `delivered.consumer_seq` difference: 1 message, so 2 means one redelivery).
Prints a table and writes bench/results/crash_recovery.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from benchkit import parser as bench_parser
from benchkit import results_file
from devstack.children import SERVICES
from devstack.config import HOST
from devstack.ports import free_port
from devstack.process import ServiceProcess, http_ok
from devstack.stack import Stack
from stack_run import machine_facts, running_stack, studio_location, write_results
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
STREAM = "SHOWCASE"
DURABLES = {"syncer": "syncer", "updater": "machine-updater"}
SCENARIOS = ("baseline", "syncer", "updater")
Message = dict[str, Any]


class Follow:
    """A studio's WebSocket on one request: every message it gets, with its arrival time."""

    def __init__(self, ws_url: str, request_id: str) -> None:
        self.ws_url = ws_url
        self.request_id = request_id
        self.seen: list[tuple[float, Message]] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def _read(self) -> None:
        try:
            async with connect(self.ws_url) as ws:
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("request_id") != self.request_id:
                        continue
                    async with self._changed:
                        self.seen.append((time.perf_counter(), message))
                        self._changed.notify_all()
        finally:
            async with self._changed:
                self._closed = True
                self._changed.notify_all()

    def first(self, wanted: Callable[[Message], bool], after: float = 0.0) -> float | None:
        """When the first message matching `wanted` (arriving after `after`) came."""
        return next((t for t, m in self.seen if t >= after and wanted(m)), None)

    async def until(
        self, wanted: Callable[[Message], bool], what: str, timeout_s: float, after: float = 0.0
    ) -> float:
        """Wait for a message matching `wanted`; its arrival time. A failed request raises."""

        def done() -> bool:
            failed = self.first(lambda m: m["status"] == "failed")
            return failed is not None or self._closed or self.first(wanted, after) is not None

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(done), timeout_s)
            except TimeoutError:
                last = self.seen[-1][1] if self.seen else None
                raise RuntimeError(f"{what}: not within {timeout_s:.0f}s (last: {last})") from None
        found = self.first(wanted, after)
        if found is None:
            raise RuntimeError(f"{what}: the request failed or the socket closed: {self.seen}")
        return found

    async def __aenter__(self) -> Follow:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def _completed(message: Message) -> bool:
    return message["status"] == "completed"


class Bench:
    def __init__(
        self, stack: Stack, http: httpx.AsyncClient, standby: bool, scenarios: tuple[str, ...]
    ) -> None:
        self.stack = stack
        self.scenarios = scenarios
        self.http = http
        self.standby = standby
        self.location_id = studio_location(stack.index_db_path)
        self.monitor_url = f"http://{HOST}:{stack.config.nats_monitor_port}"

    async def submit(self, label: str) -> tuple[float, dict[str, Any]]:
        body = {"name": f"Crash {label} {uuid.uuid4().hex[:8]}", "location_id": self.location_id}
        began = time.perf_counter()
        response = await self.http.post(
            f"{self.stack.intake_url}/api/showcases", json=body, auth=("studio", "studio")
        )
        response.raise_for_status()
        return began, response.json()

    @contextlib.asynccontextmanager
    async def request(self, label: str) -> AsyncIterator[tuple[float, Follow]]:
        began, created = await self.submit(label)
        async with Follow(created["progress"]["ws_url"], created["request_id"]) as follow:
            yield began, follow

    async def consumer(self, durable: str) -> dict[str, Any]:
        """The durable's entry in NATS monitoring (`/jsz`), configuration included."""
        response = await self.http.get(
            f"{self.monitor_url}/jsz", params={"consumers": "true", "config": "true"}
        )
        response.raise_for_status()
        for account in response.json().get("account_details") or []:
            for detail in account.get("stream_detail") or []:
                if detail.get("name") != STREAM:
                    continue
                for consumer in detail.get("consumer_detail") or []:
                    if consumer.get("name") == durable:
                        return dict(consumer)
        raise RuntimeError(f"no durable {durable} on {STREAM}")

    async def ack_wait_s(self, durable: str) -> float:
        return float((await self.consumer(durable))["config"]["ack_wait"]) / 1e9

    async def deliveries(self, durable: str) -> int:
        """How many deliveries (first ones and redeliveries) the durable has made so far."""
        return int((await self.consumer(durable))["delivered"]["consumer_seq"])

    async def holding(self, durable: str, timeout_s: float) -> None:
        """Poll `/jsz` until the durable has a message delivered and not yet acked."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (await self.consumer(durable)).get("num_ack_pending", 0) > 0:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{durable} never held the message within {timeout_s:.0f}s")

    @contextlib.contextmanager
    def frozen(self, name: str) -> Iterator[Callable[[], None]]:
        """SIGSTOP a process group for the block (SIGCONT whatever happens); yields `resume`."""
        pid = self.stack.process(name).pid
        assert pid is not None, f"{name} is not running"
        os.killpg(pid, signal.SIGSTOP)
        resumed = False

        def resume() -> None:
            nonlocal resumed
            if not resumed:
                os.killpg(pid, signal.SIGCONT)
                resumed = True

        try:
            yield resume
        finally:
            resume()

    async def generations(self) -> dict[str, int]:
        return {
            agent: (await self.http.get(f"{url}/showcase/status")).json()["generation"] or 0
            for agent, url in self.stack.agent_urls.items()
        }

    def replica(self, name: str) -> ServiceProcess:
        """A second process of service `name` (same durable, its own health port)."""
        module, port_var = next((m, v) for n, m, v in SERVICES if n == name)
        port = free_port()
        env = self.stack.children.env({port_var: str(port), "SERVICE_NAME": f"{name}-standby"},
                                      role=name)  # fmt: skip
        if name == "machine-updater":
            env["FLEET_FILE"] = str(self.stack.config.fleet_file.resolve())
        return ServiceProcess(
            f"{name}-standby", [sys.executable, "-m", module], env, self.stack.mux,
            ready=http_ok(f"http://{HOST}:{port}/healthz"),
        )  # fmt: skip

    @contextlib.asynccontextmanager
    async def standing_by(self, name: str) -> AsyncIterator[None]:
        """With a standby replica of `name` running (when the bench uses one)."""
        if not self.standby:
            yield
            return
        replica = self.replica(name)
        replica.spawn()
        try:
            await asyncio.to_thread(replica.wait_healthy, 240)
            yield
        finally:
            await asyncio.to_thread(replica.stop)

    async def crash(
        self, name: str, resume: Callable[[], None]
    ) -> tuple[float, asyncio.Task[float]]:
        """SIGKILL `name`; the kill's time and the restart under way (its seconds when done).
        The frozen part resumes at once where a successor must find it answering (S3 for the
        syncer; anything when a standby takes over), else once `name` is back."""
        killed = time.perf_counter()
        await asyncio.to_thread(self.stack.kill_process, name)
        if name == "syncer" or self.standby:
            resume()

        async def restart() -> float:
            await asyncio.to_thread(self.stack.start_process, name)
            resume()
            return time.perf_counter() - killed

        return killed, asyncio.create_task(restart())

    async def baseline(self) -> dict[str, float]:
        async with self.request("baseline") as (began, follow):
            done = await follow.until(_completed, "completed", 60)
        return {"post_to_completed_s": done - began}

    async def syncer(self) -> dict[str, float]:
        durable = DURABLES["syncer"]
        before = await self.deliveries(durable)
        with self.frozen("s3") as resume:
            async with self.request("syncer") as (began, follow):
                await self.holding(durable, 30)  # the sync hangs on the frozen store
                held_s = time.perf_counter() - began
                async with self.standing_by("syncer"):
                    killed, restarting = await self.crash("syncer", resume)
                    synced = await follow.until(
                        lambda m: m["step"] in ("updating", "done"), "index synced", 90, killed
                    )
                    done = await follow.until(_completed, "completed", 90, killed)
                    restart_s = await restarting
        return {
            "post_to_kill_s": killed - began,
            "post_to_held_s": held_s,
            "restart_s": restart_s,
            "kill_to_synced_s": synced - killed,
            "kill_to_completed_s": done - killed,
            "post_to_completed_s": done - began,
            "deliveries": await self.deliveries(durable) - before,
        }

    async def updater(self) -> dict[str, float]:
        durable = DURABLES["updater"]
        before = await self.deliveries(durable)
        with self.frozen("local-3") as resume:
            async with self.request("updater") as (began, follow):
                stuck = await follow.until(
                    lambda m: m["message"].startswith("Live in 2 of 3 regions"),
                    "the roll-out stuck on the third machine",
                    60,
                )
                async with self.standing_by("machine-updater"):
                    killed, restarting = await self.crash("machine-updater", resume)
                    done = await follow.until(_completed, "completed", 90, killed)
                    restart_s = await restarting
        return {
            "post_to_stuck_s": stuck - began,
            "post_to_kill_s": killed - began,
            "restart_s": restart_s,
            "kill_to_completed_s": done - killed,
            "post_to_completed_s": done - began,
            "deliveries": await self.deliveries(durable) - before,
        }

    async def run(self, rounds: int) -> dict[str, Any]:
        ack_wait = {name: await self.ack_wait_s(d) for name, d in DURABLES.items()}
        warmup = await self.baseline()
        print(f"warm-up: completed after {warmup['post_to_completed_s']:.2f}s", flush=True)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in self.scenarios}
        for index in range(rounds):
            for name in self.scenarios:
                row = await getattr(self, name)()
                generations = await self.generations()
                if len(set(generations.values())) != 1:
                    raise RuntimeError(
                        f"{name}: the fleet is split after completion: {generations}"
                    )
                row["generation"] = next(iter(generations.values()))
                runs[name].append(row)
                shown = {k: round(v, 2) for k, v in row.items()}
                print(f"round {index + 1} {name}: {shown}", flush=True)
        after = {name: await self.ack_wait_s(d) for name, d in DURABLES.items()}
        if after != ack_wait:
            raise RuntimeError(f"the ack wait changed during the run: {ack_wait} → {after}")
        return {"ack_wait_s": ack_wait, "warmup": warmup, "runs": runs}


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _summary(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in result["runs"]:
        runs = result["runs"][name]
        key = "kill_to_completed_s" if name != "baseline" else "post_to_completed_s"
        rows.append(
            {
                "scenario": name,
                "measured": "kill → completed" if name != "baseline" else "POST → completed",
                **_stats([r[key] for r in runs]),
                "post_to_completed_median_s": statistics.median(
                    r["post_to_completed_s"] for r in runs
                ),
                "restart_median_s": (
                    statistics.median(r["restart_s"] for r in runs) if name != "baseline" else None
                ),
                "ack_wait_s": result["ack_wait_s"].get(name),
            }
        )
    return rows


async def _bench(
    stack: Stack, rounds: int, standby: bool, scenarios: tuple[str, ...]
) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        return await Bench(stack, http, standby, scenarios).run(rounds) | {"standby": standby}


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-standby", action="store_true",
                        help="no second replica: the restarted service itself takes over")  # fmt: skip
    args = parser.parse_args()
    if args.tiny:
        args.rounds = 1

    load_before = list(os.getloadavg())
    with running_stack("bench-crash-") as run:
        print(f"stack started in {run.start_s:.1f}s", flush=True)
        # tiny: one crash (the updater's) is enough to exercise every part of the bench
        scenarios = ("baseline", "updater") if args.tiny else SCENARIOS
        result = asyncio.run(_bench(run.stack, args.rounds, not args.no_standby, scenarios))
    startup_s, stop_s = run.start_s, run.stop_s

    summary = _summary(result)
    print(f"stack start {startup_s:.1f}s, stop {stop_s:.1f}s; rounds={args.rounds}")
    head = f"{'scenario':<10}{'measured':<19}{'median s':>9}{'min s':>8}{'max s':>8}"
    print(f"{head}{'POST→done':>11}{'restart':>9}{'ack wait':>10}")
    for row in summary:
        restart = "" if row["restart_median_s"] is None else f"{row['restart_median_s']:.2f}"
        ack = "" if row["ack_wait_s"] is None else f"{row['ack_wait_s']:.0f}s"
        print(
            f"{row['scenario']:<10}{row['measured']:<19}{row['median']:>9.2f}{row['min']:>8.2f}"
            f"{row['max']:>8.2f}{row['post_to_completed_median_s']:>11.2f}{restart:>9}{ack:>10}"
        )
    write_results(
        results_file("crash_recovery.json"),
        {
            "bench": "crash_recovery",
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine_facts() | {"load_avg_at_start": load_before},
            "rounds": args.rounds,
            "stack_start_s": startup_s,
            "stack_stop_s": stop_s,
            "summary": summary,
            **result,
        },
    )


if __name__ == "__main__":
    main()
