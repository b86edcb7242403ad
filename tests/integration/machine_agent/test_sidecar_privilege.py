"""A sidecar agent (a real process) beside the stand-in application: its commands see none of
the agent's secrets, their output (a huge `\\r` progress bar included) is logged redacted and
never answered over HTTP, the placed files are readable by the application, and an index the
application holds open in WAL mode is updated in place (its open connection sees the new rows)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack.ports import free_port
from showcase_common.events import Snapshot
from showcase_common.index import Showcase
from showcase_common.snapshots import S3SnapshotStore

from tests.integration.machine_agent.standin_rails import StandIn, standin_rails
from tests.support.agents import (
    DEFAULT_SECRET,
    AgentFleet,
    AgentProcess,
    publish_sample,
)

SUMMER = Showcase(id=10, location_id=1, year=2026, key="summer", name="Summer Sizzle", order=5)
LONE = Showcase(id=11, location_id=2, year=2027, key="showcase", name="Chicago 2027", order=6)

NOISY = r"""
import json, os, sys
site = sys.argv[1]
with open(os.path.join(site, "env.json"), "w") as f:
    json.dump(dict(os.environ), f)
for i in range(3000):  # a progress bar: ~150 KB without a newline
    sys.stdout.write(f"\rdownloading {i:04d} " + "#" * 40)
sys.stdout.write("\n" + "=" * 200_000 + "\n")  # and one line of 200 KB
print("the secret is " + open(os.path.join(site, "secret")).read().strip(), flush=True)
sys.exit(int(open(os.path.join(site, "exit")).read()))
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[StandIn]:
    with standin_rails(tmp_path / "rails", free_port()) as stand_in:
        (stand_in.site / "secret").write_text(DEFAULT_SECRET)  # as if a command printed it
        (stand_in.site / "exit").write_text("0")
        (stand_in.site.parent / "noisy.py").write_text(NOISY)
        yield stand_in


def _agent(agent_fleet: AgentFleet, app: StandIn, **extra: str) -> AgentProcess:
    noisy = [sys.executable, str(app.site.parent / "noisy.py"), str(app.site)]
    env = {
        "AGENT_RAILS_DB_DIR": str(app.db_dir),
        "AGENT_POST_APPLY_COMMANDS": json.dumps([noisy, app.command()]),
        "AGENT_COMMAND_TIMEOUT_S": "20",
        "AGENT_APP_URL": app.url,
        "AGENT_PAGE_CHECK_TIMEOUT_S": "5",
        "RAILS_ENV": "production",
        "UNRELATED_VARIABLE": "not passed",
        **extra,
    }
    return agent_fleet.start("rails-1", "iad", env=env)


def _publish(store: S3SnapshotStore, tmp_path: Path, generation: int, *extra: Showcase) -> Snapshot:
    """Not `latest`: the boot catch-up must not race the updates these tests make."""
    return publish_sample(store, tmp_path, generation, *extra, advance=False)


def test_commands_get_no_secret_and_their_output_is_logged_redacted_never_answered(
    agent_fleet: AgentFleet, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    agent = _agent(agent_fleet, app, AGENT_COMMAND_ENV="MACHINE_UPDATE_SECRET,UNRELATED_*")
    response = agent.update(_publish(store, tmp_path, 1, SUMMER), showcase_ids=[10])
    assert response.status_code == 200, response.text  # lines over 64 KiB did not break it

    env = json.loads((app.site / "env.json").read_text())
    assert env["RAILS_ENV"] == "production" and env["SHOWCASE_GENERATION"] == "1"
    assert env["UNRELATED_VARIABLE"] == "not passed"  # asked for by AGENT_COMMAND_ENV
    leaked = {name for name in env if name.startswith(("AWS_", "S3_", "MACHINE_", "AGENT_"))}
    assert leaked == set()  # the update secret, even when asked for; the S3 keys
    assert DEFAULT_SECRET not in json.dumps(env)

    logs = agent.logs()
    assert "downloading 2999" in logs  # the progress bar's last state is logged…
    assert "line cut at" in logs  # …the line cut, not the update
    assert "the secret is [redacted]" in logs
    assert DEFAULT_SECRET not in logs

    (app.site / "exit").write_text("3")
    failed = agent.update(_publish(store, tmp_path, 2, SUMMER, LONE), showcase_ids=[11])
    assert failed.status_code == 500
    detail = failed.json()["detail"]
    assert "exited with status 3" in detail and "in the agent's log" in detail
    assert "the secret is" not in detail and "downloading" not in detail


def test_placed_files_are_readable_by_the_application_and_keep_its_mode(
    agent_fleet: AgentFleet, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    (app.db_dir / "htpasswd").write_text("old\n")
    os.chmod(app.db_dir / "htpasswd", 0o640)  # the application's own choice: kept
    agent = _agent(agent_fleet, app)
    assert agent.update(_publish(store, tmp_path, 1, SUMMER), showcase_ids=[10]).status_code == 200

    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in app.db_dir.iterdir()}
    assert modes == {"htpasswd": 0o640, "index.sqlite3": 0o644, "showcases.yml": 0o644}


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files another owner needs root")
def test_a_configured_mode_and_owner_apply_to_every_placed_file(
    agent_fleet: AgentFleet, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    agent = _agent(agent_fleet, app, AGENT_FILE_MODE="0664", AGENT_FILE_OWNER="4321:4322")
    assert agent.update(_publish(store, tmp_path, 1, SUMMER), showcase_ids=[10]).status_code == 200
    for placed in app.db_dir.iterdir():
        info = placed.stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o664, 4321, 4322)


def test_an_index_open_in_wal_mode_is_updated_in_place_and_the_open_connection_sees_it(
    agent_fleet: AgentFleet, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    # The application (Rails: SQLite in WAL mode) holds generation 1's index open.
    agent = _agent(agent_fleet, app)
    assert agent.update(_publish(store, tmp_path, 1, SUMMER), showcase_ids=[10]).status_code == 200
    index = app.db_dir / "index.sqlite3"
    rails = sqlite3.connect(index)
    assert rails.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    names = "SELECT name FROM showcases ORDER BY id"
    assert "Chicago 2027" not in {n for (n,) in rails.execute(names)}
    assert Path(f"{index}-wal").exists() and Path(f"{index}-shm").exists()
    inode = index.stat().st_ino

    second = agent.update(_publish(store, tmp_path, 2, SUMMER, LONE), showcase_ids=[11])

    assert second.status_code == 200, second.text
    # Written into the live file (not renamed over it): the open connection reads the new rows.
    assert index.stat().st_ino == inode
    assert "Chicago 2027" in {n for (n,) in rails.execute(names)}
    rails.close()
    fresh = sqlite3.connect(index)
    assert fresh.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert "Chicago 2027" in {n for (n,) in fresh.execute(names)}
    fresh.close()
