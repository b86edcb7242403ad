"""The local run against the fleet as it is: machines that speak only `update_config`.

Both ways in: `python -m devstack --machines update_config` (the run starts its three machines
as stand-ins of the Rails machines), and `FLEET_FILE` naming machines the run does not start.
Either way a studio request completes with per-machine progress, each machine received the
gzipped Rails index holding the new showcase (and nothing of the pipeline's own tables), and
the studio lands on its page.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.progress import progress_until_final
from tests.support.stack import STUDIO, LocalStack, running_local_stack
from tests.support.standin_machines import (  # noqa: F401  (fixture)
    StandIns,
    standin_machines,
    write_fleet_file,
)

pytestmark = pytest.mark.e2e


def tables_and_names(index: bytes) -> tuple[set[str], set[str]]:
    db = sqlite3.connect(":memory:")
    db.deserialize(index)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return tables, {r[0] for r in db.execute("SELECT name FROM showcases")}
    finally:
        db.close()


async def request_to_the_end(stack: LocalStack) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name = f"Fleet As Is {uuid.uuid4().hex[:6]}"
    location = stack.owned_location("studio")
    body = {"name": name, "location_id": location["id"], "start_date": "2027-05-16"}
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(f"{stack.intake_url}/api/showcases", json=body, auth=STUDIO)
    assert created.status_code == 201, created.text
    answer = created.json()
    async with asyncio.timeout(180):  # a safety net against a hang, not a speed assertion
        messages = await progress_until_final(answer["progress"]["ws_url"], answer["request_id"])
    return answer | {"name": name}, messages


async def lands_on_its_page(created: dict[str, Any], final: dict[str, Any]) -> None:
    assert final["status"] == "completed", final
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(final["redirect_url"])
    assert page.status_code == 200 and created["name"] in page.text


def per_machine_progress(messages: list[dict[str, Any]]) -> list[str]:
    return [m["message"] for m in messages if m["message"].startswith("Live in ")]


@pytest.mark.timeout(900)
async def test_devstack_machines_as_update_config_standins(tmp_path: Path) -> None:
    with running_local_stack(tmp_path, machines="update_config") as stack:
        created, messages = await request_to_the_end(stack)
        await lands_on_its_page(created, messages[-1])
        progress = per_machine_progress(messages)
        assert any("of 3" in m for m in progress), progress
        for machine_id in ("local-1", "local-2", "local-3"):
            received = (stack.agent_data_dir(machine_id) / "index.sqlite3").read_bytes()
            tables, names = tables_and_names(received)
            assert created["name"] in names
            assert {"users", "locations", "showcases", "regions"} <= tables
            assert not [t for t in tables if t.startswith("pipeline_")]
        machines = showcasectl_status_machines(stack)
        assert {m["id"]: m["protocol"] for m in machines} == dict.fromkeys(
            ("local-1", "local-2", "local-3"), "update_config"
        )
        # no /showcase/status on these machines: the generation of their last update, pages checked
        assert all(m["source"] == "updates" and m["error"] is None for m in machines), machines
        assert len({m["generation"] for m in machines}) == 1 and machines[0]["generation"]


def showcasectl_status_machines(stack: LocalStack) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "NATS_URL": stack.stack.nats_url,
        "FLEET_FILE": str(stack.stack.config.fleet_file),
        "S3_ENDPOINT_URL": stack.stack.config.s3_endpoint_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "showcasectl", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return list(json.loads(done.stdout)["machines"])


@pytest.mark.timeout(900)
async def test_fleet_file_of_machines_the_run_does_not_start(
    tmp_path: Path,
    standin_machines: StandIns,  # noqa: F811
) -> None:
    machines = standin_machines("iad", "ord", "sjc", page_delay_s=0.3)
    fleet_file = write_fleet_file(tmp_path / "fleet.yaml", machines)
    with running_local_stack(tmp_path / "run", external_fleet_file=fleet_file) as stack:
        assert stack.agent_urls == {}  # none started by the run
        created, messages = await request_to_the_end(stack)
        await lands_on_its_page(created, messages[-1])
        progress = per_machine_progress(messages)
        assert len(progress) >= 1 and all("of 3" in m for m in progress), progress
        # boston is served in iad: the machines elsewhere hand its page on there
        path = "/" + created["redirect_url"].split("/", 3)[3]
        async with httpx.AsyncClient(timeout=30) as http:
            for m in machines[1:]:
                handed = await http.get(m.url + path)
                assert handed.status_code == 307 and handed.json()["region"] == "iad"
        for m in machines:
            assert m.machine.received, f"{m.id} was never updated"
            last = m.machine.received[-1]
            assert last.headers["content-encoding"] == "gzip"
            tables, names = tables_and_names(gzip.decompress(last.body))
            assert created["name"] in names
            assert not [t for t in tables if t.startswith("pipeline_")]
