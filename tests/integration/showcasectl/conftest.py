"""The operator tool against a real nats-server: the CLI run as operators run it."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from nats.js.client import JetStreamContext
from showcase_common import events
from showcase_common.bus import Publisher, connect, ensure_stream
from showcasectl.cli import app
from typer.testing import CliRunner, Result

from tests.support.agents import agent_fleet  # noqa: F401 - a fixture

T = TypeVar("T")


@dataclass
class Ctl:
    """Runs `showcasectl ARGS` in a thread (the command runs its own event loop)."""

    env: dict[str, str]

    async def __call__(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        return await asyncio.to_thread(
            lambda: runner.invoke(
                app, list(args), env=self.env, input=input, catch_exceptions=False
            )
        )

    async def json(self, *args: str, exit_code: int = 0) -> Any:
        result = await self(*args, "--json")
        assert result.exit_code == exit_code, result.output
        return json.loads(result.stdout)


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await connect(nats_url, "test")
    js = nc.jetstream()
    await ensure_stream(js)
    yield js
    await nc.close()


@pytest.fixture
def ctl(nats_url: str, tmp_path) -> Ctl:
    return Ctl(
        {
            "NATS_URL": nats_url,
            "COLUMNS": "200",
            "FLEET_FILE": str(tmp_path / "no-fleet.yaml"),
            "S3_ENDPOINT_URL": "http://127.0.0.1:9",
        }
    )


def request_ref(request_id: str, name: str = "Spring Showcase") -> events.RequestRef:
    showcase = events.ShowcaseRef(
        showcase_id=1, year=2026, location_key="boston", key="spring", name=name
    )
    return events.RequestRef(
        request_id=request_id, user="studio", showcase=showcase, redirect_url="http://x/"
    )


def snapshot(generation: int) -> events.Snapshot:
    return events.Snapshot(
        generation=generation,
        object_key=f"db/generations/{generation:012d}.sqlite3",
        sha256="0" * 64,
        size=1,
    )


def story(
    request_id: str, generation: int, machines: Sequence[str] = ("m1", "m2")
) -> list[events.Event]:
    """A request's successful trip through the pipeline, event by event."""
    ref = request_ref(request_id)
    n = len(machines)
    return [
        events.ShowcaseCreated(request=ref),
        events.IndexSynced(snapshot=snapshot(generation), requests=[ref]),
        *(
            events.MachineUpdated(
                generation=generation,
                requests=[ref],
                machine_id=m,
                region="ord",
                done=i + 1,
                total=n,
                duration_s=0.5,
            )
            for i, m in enumerate(machines)
        ),
        events.FleetUpdated(
            generation=generation, requests=[ref], machine_ids=list(machines), duration_s=1.0
        ),
    ]


async def publish_all(js: JetStreamContext, items: Sequence[events.Event]) -> list[int]:
    publisher = Publisher(js)
    return [(await publisher.publish(e)).seq for e in items]


async def poll(check: Callable[[], Awaitable[T]], what: str, timeout_s: float = 30.0) -> T:
    """Poll a condition that no event announces (another process, a server's clock) until it
    holds, with a deadline."""
    try:
        async with asyncio.timeout(timeout_s):
            for _ in itertools.count():
                if value := await check():
                    return value
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout_s}s") from None
    raise AssertionError("unreachable")
