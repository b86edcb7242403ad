"""`showcasectl status` on Fly: the machines come from the Machines API (as the updater finds
them), each asked through the app's public URL with `Fly-Force-Instance-Id`. A fake Fly (one
real HTTP server: the API and the app's proxy) stands in front of real machine agents."""

from __future__ import annotations

import json
from pathlib import Path

from showcase_common.settings import S3Settings

from tests.integration.showcasectl.conftest import Ctl
from tests.support.agents import (
    AgentFleet,
    publish_snapshot,
    sample_rows,
    snapshot_store,
    write_index,
)
from tests.support.fake_fly import FakeFly, fake_fly

__all__ = ["fake_fly"]


async def test_status_lists_the_machines_of_the_fly_app(
    js,
    ctl: Ctl,
    s3_settings: S3Settings,
    agent_fleet: AgentFleet,
    fake_fly: FakeFly,
    tmp_path: Path,
) -> None:
    store = snapshot_store(s3_settings)
    db = tmp_path / "index.sqlite3"
    write_index(db, *sample_rows())
    publish_snapshot(store, db, 1)
    agent = agent_fleet.start("e2865", "ord")
    agent.wait_for_generation(1)
    fake_fly.add("e2865", "ord", agent.url)

    s3_env = {k.upper(): str(v) for k, v in s3_settings.model_dump().items() if v is not None}
    fly_env = {
        "FLY_APP_NAME": fake_fly.app_name,
        "FLY_API_TOKEN": fake_fly.token,
        "FLY_API_URL": fake_fly.api_url,
        "FLY_APP_URL": fake_fly.app_url,
    }
    result = await Ctl({**ctl.env, **s3_env, **fly_env})("status", "--json")
    status = json.loads(result.stdout)  # exit 1 here: no service has made its durable

    assert [(m["id"], m["region"], m["generation"]) for m in status["machines"]] == [
        ("e2865", "ord", 1)
    ], status
    assert fake_fly.calls("e2865", "GET", "/showcase/status") >= 1
