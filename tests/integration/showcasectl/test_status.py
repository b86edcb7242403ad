"""`showcasectl status` and `requests` against real NATS, real S3 and real machine agents."""

from __future__ import annotations

from pathlib import Path

import yaml
from showcase_common import subjects
from showcase_common.bus import ensure_consumer, ensure_kv
from showcase_common.progress import RequestProgress
from showcase_common.settings import S3Settings

from tests.integration.showcasectl.conftest import Ctl, publish_all, story
from tests.support.agents import (
    AgentFleet,
    publish_snapshot,
    sample_rows,
    snapshot_store,
    write_index,
)


def _env(ctl: Ctl, s3: S3Settings, fleet_file: Path) -> Ctl:
    s3_env = {k.upper(): str(v) for k, v in s3.model_dump().items() if v is not None}
    return Ctl({**ctl.env, **s3_env, "FLEET_FILE": str(fleet_file)})


async def test_status_finds_a_machine_behind_s3_then_all_good(
    js, ctl: Ctl, s3_settings: S3Settings, agent_fleet: AgentFleet, tmp_path: Path
) -> None:
    store = snapshot_store(s3_settings)
    db = tmp_path / "index.sqlite3"
    write_index(db, *sample_rows())
    publish_snapshot(store, db, 1)
    agents = [agent_fleet.create("m1", "ord"), agent_fleet.create("m2", "iad")]
    for agent in agents:
        agent.spawn()
    for agent in agents:  # generous: two Python processes starting on a busy 2-core machine
        agent.wait_ready(timeout_s=120)
    for agent in agents:
        agent.wait_for_generation(1)
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(
        yaml.safe_dump(
            {"machines": [{"id": a.agent_id, "region": a.region, "url": a.url} for a in agents]}
        )
    )
    ctl = _env(ctl, s3_settings, fleet_file)
    await ensure_consumer(js, "machine-updater", [subjects.INDEX_SYNCED])

    healthy = await ctl.json("status")
    assert healthy["ok"] and healthy["problems"] == [], healthy["problems"]
    assert healthy["s3_generation"] == 1
    assert [m["generation"] for m in healthy["machines"]] == [1, 1]

    second = publish_snapshot(store, db, 2)  # S3 moves on; only the first machine follows
    assert agents[0].update(second).status_code == 200
    behind = await ctl.json("status", exit_code=1)
    assert behind["problems"] == [f"machine {agents[1].agent_id} serves generation 1, S3 has 2"]
    table = await ctl("status")
    assert table.exit_code == 1 and "BEHIND" in table.stdout and "PROBLEM" in table.stderr

    assert agents[1].update(second).status_code == 200
    assert (await ctl("status")).exit_code == 0


async def test_status_reports_backlog_dead_letters_and_requests(
    js, ctl: Ctl, tmp_path: Path
) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text("machines: []\n")
    ctl = Ctl({**ctl.env, "FLEET_FILE": str(fleet_file)})
    await ensure_consumer(js, "syncer", [subjects.SHOWCASE_CREATED, subjects.RETRY_REQUESTED])
    await publish_all(js, story("req-a", 1))
    await js.publish("showcase_dlq.syncer", b"{}", headers={"Dlq-Error": "boom"})
    kv = await ensure_kv(js, subjects.REQUEST_STATE_BUCKET)
    for state in (
        RequestProgress(request_id="req-a", status="failed", progress=30, step="failed", error="m2 down"),
        RequestProgress(request_id="req-b", status="processing", progress=40, step="updating", updated_at="2020-01-01T00:00:00+00:00"),
        RequestProgress(request_id="req-c", status="completed", progress=100, step="done"),
    ):  # fmt: skip
        await kv.put(state.request_id, state.model_dump_json().encode())

    found = await ctl.json("status", "--stuck-after", "0", exit_code=1)
    syncer = next(c for c in found["consumers"] if c["name"] == "syncer")
    assert syncer["pending"] == 1 and syncer["oldest_age_s"] is not None and syncer["stuck"]
    assert found["dead_letters"] == 1
    assert [r["request_id"] for r in found["failed_requests"]] == ["req-a"]
    assert [r["request_id"] for r in found["stuck_requests"]] == ["req-b"]
    problems = " | ".join(found["problems"])
    assert "S3 snapshot pointer unreadable" in problems  # no store at that address
    assert "consumer syncer" in problems and "1 dead letter" in problems
    assert "request req-b stuck at 40 %" in problems

    failed = await ctl.json("requests", "--status", "failed")
    assert [r["request_id"] for r in failed] == ["req-a"] and failed[0]["error"] == "m2 down"
    everything = await ctl.json("requests")
    assert {r["request_id"] for r in everything} == {"req-a", "req-b", "req-c"}
    table = await ctl("requests")
    assert table.exit_code == 0 and "m2 down" in table.stdout
