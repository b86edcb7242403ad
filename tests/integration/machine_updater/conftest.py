"""Fixtures for the machine-updater against real NATS, real S3, real agents and a fake Fly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
import yaml
from devstack.ports import free_port
from nats.aio.client import Client
from nats.js.client import JetStreamContext
from showcase_common import events, subjects
from showcase_common.bus import connect, ensure_stream
from showcase_common.events import RequestRef, ShowcaseRef, Snapshot
from showcase_common.index import Showcase
from showcase_common.settings import S3Settings

from tests.support.agents import (  # noqa: F401  (fixtures)
    AgentFleet,
    AgentProcess,
    agent_fleet,
    publish_snapshot,
    sample_rows,
    snapshot_store,
    write_index,
)
from tests.support.fake_fly import fake_fly  # noqa: F401  (fixture)
from tests.support.metrics import Samples, parse_samples
from tests.support.standin_machines import standin_machines  # noqa: F401  (fixture)
from tests.support.waiting import wait_until

SUMMER = Showcase(
    id=5,
    location_id=1,
    year=2026,
    key="summer",
    name="Summer Showcase",
    order=5,
    date="2026-07-04",
)


def summer_request() -> RequestRef:
    showcase = ShowcaseRef(
        showcase_id=5, year=2026, location_key="boston", key="summer", name="Summer Showcase"
    )
    return RequestRef(request_id="req-summer", user="studio", showcase=showcase, redirect_url="/")


def spring_request() -> RequestRef:
    showcase = ShowcaseRef(
        showcase_id=1, year=2026, location_key="boston", key="spring", name="Spring Showcase"
    )
    return RequestRef(request_id="req-spring", user="studio", showcase=showcase, redirect_url="/")


class Index:
    """Publishes index generations to the test's bucket, as the syncer would."""

    def __init__(self, tmp: Path, s3: S3Settings) -> None:
        self.tmp = tmp
        self.store = snapshot_store(s3)

    def publish(self, generation: int, *extra: Showcase) -> Snapshot:
        path = self.tmp / f"index-{generation}.sqlite3"
        locations, showcases, users = sample_rows(extra)
        write_index(path, locations, showcases, users)
        return publish_snapshot(self.store, path, generation)


@pytest.fixture
def index(tmp_path: Path, s3_settings: S3Settings) -> Index:
    return Index(tmp_path, s3_settings)


class EventLog:
    """Every pipeline event, as it is published (an ordered consumer on the whole stream)."""

    def __init__(self) -> None:
        self.seen: list[events.Event] = []
        self._changed = asyncio.Condition()

    async def on_msg(self, msg) -> None:
        event = events.decode(msg.subject, msg.data)
        async with self._changed:
            self.seen.append(event)
            self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[events.Event], bool], timeout_s: float = 60
    ) -> events.Event:
        async with asyncio.timeout(timeout_s), self._changed:
            while True:
                for event in self.seen:
                    if predicate(event):
                        return event
                await self._changed.wait()

    def of(self, kind: type[events.Event]) -> list:
        return [e for e in self.seen if isinstance(e, kind)]


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[tuple[Client, JetStreamContext, EventLog]]:
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    await ensure_stream(js)
    log = EventLog()
    sub = await js.subscribe(subjects.ALL_SUBJECTS, cb=log.on_msg, ordered_consumer=True)
    try:
        yield nc, js, log
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        await nc.close()


async def wait_consumed(js: JetStreamContext, stream_seq: int, timeout_s: float = 30) -> None:
    """Until the machine-updater's consumer has acknowledged everything up to `stream_seq`."""
    async with asyncio.timeout(timeout_s):
        while True:
            info = await js.consumer_info(subjects.STREAM, subjects.MACHINE_UPDATER_DURABLE)
            if info.ack_floor.stream_seq >= stream_seq and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.05)  # polling a server-side counter: there is no event for it


STARTUP_S = 180.0
"""Generous: a Python process's imports alone can take tens of seconds on a loaded 2-core CI box."""


def start_agents(fleet: AgentFleet, regions: Sequence[str]) -> list[AgentProcess]:
    """One agent per region (m1, m2, ...), spawned together, then awaited."""
    agents = [fleet.create(f"m{i + 1}", region) for i, region in enumerate(regions)]
    for agent in agents:
        agent.spawn()
    for agent in agents:
        agent.wait_ready(STARTUP_S)
    return agents


class UpdaterProcess:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log_path = tmp / "updater.log"
        self.env = {**os.environ, **env, "UPDATER_PORT": str(self.port), "LOG_JSON": "false"}
        self.cwd = tmp  # away from any .env of the checkout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "machine_updater"],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(lambda: self._answers("/readyz"), STARTUP_S, "machine-updater ready")

    def _answers(self, path: str) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"machine-updater exited:\n{self.log_path.read_text()}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def metrics(self) -> Samples:
        """`/metrics` on the health port, as sample values keyed by (name, labels)."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        response = httpx.get(url, timeout=5)
        assert response.status_code == 200
        return parse_samples(response.text)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def updater_process(
    tmp_path: Path,
    nats_url: str,
    agent_fleet: AgentFleet,  # noqa: F811  (the fixture above)
) -> Iterator[UpdaterProcess]:
    env = {
        "NATS_URL": nats_url,
        "FLEET_FILE": str(tmp_path / "fleet.yaml"),
        "MACHINE_UPDATE_SECRET": agent_fleet.secret,
        "MACHINE_ATTEMPTS": "2",
        "RETRY_INITIAL_S": "0.05",
        "PROBE_TIMEOUT_S": "2",
        "CANARY": "false",  # these tests are about the machines all at once; test_canary turns it on
    }
    process = UpdaterProcess(tmp_path, env)
    yield process
    if process.proc is not None:
        process.stop()


def write_fleet(path: Path, agents: list[AgentProcess]) -> None:
    machines = [{"id": a.agent_id, "region": a.region, "url": a.url} for a in agents]
    path.write_text(yaml.safe_dump({"machines": machines}))
