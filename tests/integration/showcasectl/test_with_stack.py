"""The operator tool against the whole local stack (real intake, syncer, updater, agents, gateway).

- `apply` rolls out what an admin created without automation, the bar fed by the step events;
- replaying a whole day's events twice, inside the duplicate window and beyond it, leaves the
  showcases, the e-mails, the S3 generations and every machine's applied state unchanged.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

import httpx
import pytest
from nats.js.api import StreamConfig
from showcase_common import subjects
from showcase_common.bus import connect
from showcase_common.bus.streams import DUPLICATE_WINDOW_S

from tests.integration.showcasectl.conftest import Ctl, poll
from tests.support.stack import ADMIN, STUDIO, LocalStack

pytestmark = pytest.mark.e2e

_SHARED = ("NATS_URL", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_REGION", "S3_ADDRESSING_STYLE",
           "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")  # fmt: skip


@pytest.fixture
def stack_ctl(local_stack: LocalStack) -> Ctl:
    env = local_stack.stack.service_env()  # same bus, store and fleet as the services
    return Ctl(
        {k: env[k] for k in _SHARED}
        | {"FLEET_FILE": str(local_stack.stack.config.fleet_file), "COLUMNS": "200"}
    )


def _submit(stack: LocalStack, auth: tuple[str, str]) -> dict[str, Any]:
    location = stack.owned_location()
    body = {"name": f"Ctl {uuid.uuid4().hex[:8]}", "location_id": location["id"], "year": 2027}
    response = httpx.post(f"{stack.intake_url}/api/showcases", json=body, auth=auth, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


async def _completed(stack: LocalStack, created: dict[str, Any]) -> None:
    async def done() -> bool:
        async with httpx.AsyncClient(auth=STUDIO, timeout=10) as http:
            state = (await http.get(created["status_url"])).json()
        assert state["status"] != "failed", state
        return bool(state["status"] == "completed")

    await poll(done, "the request completed", 90)


async def _quiet(ctl: Ctl) -> None:
    """Every consumer has caught up (status exits 0 with --stuck-after 0)."""

    async def ok() -> bool:
        return (await ctl("status", "--stuck-after", "0")).exit_code == 0

    await poll(ok, "the pipeline settled", 90)


async def _settle_failed(ctl: Ctl) -> None:
    """Re-drive, as an operator would, any request an earlier test on the shared stack left
    failed: the claim is about a settled day, where a replay has nothing left to finish."""
    for state in await ctl.json("requests", "--status", "failed", "--limit", "0"):
        result = await ctl("replay", state["request_id"])
        assert result.exit_code == 0, result.output

    async def none_failed() -> bool:
        return not await ctl.json("requests", "--status", "failed", "--limit", "0")

    await poll(none_failed, "every failed request re-driven", 120)


def _effects(stack: LocalStack, ctl_status: dict[str, Any]) -> dict[str, Any]:
    with sqlite3.connect(stack.index_db_path) as db:
        showcases = db.execute("SELECT count(*) FROM showcases").fetchone()[0]
    applied = {
        agent_id: sorted(p.read_text() for p in stack.agent_data_dir(agent_id).rglob("state.json"))
        for agent_id in stack.agent_urls
    }
    return {
        "showcases": showcases,
        "mails": len(stack.mail()),
        "s3_generation": ctl_status["s3_generation"],
        "machines": {m["id"]: m["generation"] for m in ctl_status["machines"]},
        "applied": applied,
    }


async def test_apply_rolls_out_an_admins_showcase(local_stack: LocalStack, stack_ctl: Ctl) -> None:
    before = await stack_ctl.json("status")
    created = _submit(local_stack, ADMIN)  # no automation for admins
    assert created["request_id"] is None

    result = await stack_ctl("apply", "--json", "--timeout", "120")
    assert result.exit_code == 0, result.output
    rollout = json.loads(result.stdout)
    assert rollout["outcome"] == "completed" and rollout["progress"] == 100
    assert rollout["generation"] > (before["s3_generation"] or 0)
    assert rollout["done"] == rollout["total"] == len(local_stack.agent_urls)
    async with httpx.AsyncClient(timeout=10) as http:
        page = await http.get(local_stack.fleet_url + _path(created["showcase"]))
    assert page.status_code == 200


def _path(showcase: dict[str, Any]) -> str:
    location = showcase.get("location_key") or showcase.get("location", {}).get("key")
    return f"/showcase/{showcase['year']}/{location}/{showcase['key']}/"


async def test_replaying_a_day_twice_changes_nothing(
    local_stack: LocalStack, stack_ctl: Ctl
) -> None:
    await _settle_failed(stack_ctl)
    created = _submit(local_stack, STUDIO)
    await _completed(local_stack, created)
    _submit(local_stack, ADMIN)  # one admin e-mail in the day's history too
    await _quiet(stack_ctl)
    baseline = _effects(local_stack, await stack_ctl.json("status"))
    count = await _stream_messages(stack_ctl)

    for _ in range(2):  # inside the duplicate window: JetStream drops every copy
        out = await stack_ctl.json("replay", "--since", "1d")
        assert out["counts"]["published"] == 0 and out["counts"]["deduplicated"] > 0
    assert await _stream_messages(stack_ctl) == count

    nc = await connect(stack_ctl.env["NATS_URL"], "test")
    js = nc.jetstream()
    try:
        await _set_window(js, 0.5)  # beyond the window: the consumers' idempotency is all

        async def aged() -> bool:
            dry = await stack_ctl.json(
                "replay", "--since", "1d", "--to-seq", str(count), "--dry-run"
            )
            return dry["counts"]["deduplicated"] == 0

        for _ in range(2):
            # The window runs from the newest copy of each Nats-Msg-Id: the day's originals at
            # first, the previous round's re-publications after it.
            await poll(aged, "the day and its last replay outside the window", 20)
            out = await stack_ctl.json("replay", "--since", "1d", "--to-seq", str(count))
            assert out["counts"]["published"] > 0
            await _quiet(stack_ctl)
    finally:
        await _set_window(js, DUPLICATE_WINDOW_S)
        await nc.close()

    assert _effects(local_stack, await stack_ctl.json("status")) == baseline
    async with httpx.AsyncClient(auth=STUDIO, timeout=10) as http:
        state = (await http.get(created["status_url"])).json()
    assert state["status"] == "completed" and state["progress"] == 100


async def _stream_messages(ctl: Ctl) -> int:
    status = await ctl.json("status")
    return next(s["messages"] for s in status["streams"] if s["name"] == subjects.STREAM)


async def _set_window(js, seconds: float) -> None:
    info = await js.stream_info(subjects.STREAM)
    config = {**info.config.as_dict(), "duplicate_window": int(seconds * 1e9)}
    await js.update_stream(StreamConfig.from_response(config))
