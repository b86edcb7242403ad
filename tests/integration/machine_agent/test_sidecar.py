"""A sidecar agent (a real process) beside a stand-in Rails application (a real HTTP server)
whose "prerender" command is a real script: the files placed, the commands run, the new page
checked; a failing and a hanging command are per-machine failures, and a retry recovers."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from devstack.ports import free_port
from showcase_common.events import Snapshot
from showcase_common.index import Showcase
from showcase_common.snapshots import S3SnapshotStore, sha256_file

from tests.integration.machine_agent.standin_rails import StandIn, standin_rails
from tests.support.agents import (
    AgentFleet,
    AgentProcess,
    publish_sample,
)
from tests.support.rails_fixture import KNOWN_LOGINS
from tests.support.raw_http import raw_get
from tests.support.waiting import wait_until

COMMAND_TIMEOUT_S = 3
SUMMER = Showcase(id=10, location_id=1, year=2026, key="summer", name="Summer Sizzle", order=5)
LONE = Showcase(id=11, location_id=2, year=2027, key="showcase", name="Chicago 2027", order=6)
WINTER = Showcase(id=12, location_id=3, year=2027, key="winter", name="Winter Gala", order=7)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[StandIn]:
    with standin_rails(tmp_path / "rails", free_port()) as stand_in:
        yield stand_in


@pytest.fixture
def agent(agent_fleet: AgentFleet, app: StandIn) -> AgentProcess:
    commands = ['echo "placed generation $SHOWCASE_GENERATION"', app.command()]
    env = {
        "AGENT_RAILS_DB_DIR": str(app.db_dir),
        "AGENT_POST_APPLY_COMMANDS": json.dumps(commands),
        "AGENT_COMMAND_TIMEOUT_S": str(COMMAND_TIMEOUT_S),
        "AGENT_APP_URL": app.url,
        "AGENT_PAGE_CHECK_TIMEOUT_S": "2",
    }
    return agent_fleet.start("rails-1", "iad", env=env)


def _files(app: StandIn) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(app.db_dir.iterdir())}


def _page(app: StandIn, path: str) -> int:
    return httpx.get(app.url + path, timeout=5).status_code


def _publish(store: S3SnapshotStore, tmp_path: Path, generation: int, *extra: Showcase) -> Snapshot:
    """Not `latest`: the boot catch-up must not race the updates these tests make."""
    return publish_sample(store, tmp_path, generation, *extra, advance=False)


def test_an_update_places_the_files_runs_the_commands_and_checks_the_page(
    agent: AgentProcess, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    snapshot = _publish(store, tmp_path, 1, SUMMER)
    response = agent.update(snapshot, showcase_ids=[10])

    assert response.status_code == 200, response.text
    assert response.json()["generation"] == 1 == agent.status()["generation"]
    # its own page check, in the answer: what the updater judges instead of asking
    assert response.json()["pages"] == {
        "/showcase/2026/boston/summer/": {"status": 200, "replay_region": None}
    }
    assert sorted(p.name for p in app.db_dir.iterdir()) == [
        "htpasswd",
        "index.sqlite3",
        "showcases.yml",
    ]  # and no temporary left behind
    assert sha256_file(app.db_dir / "index.sqlite3") == snapshot.sha256
    assert KNOWN_LOGINS["studio"][1] in (app.db_dir / "htpasswd").read_text().splitlines()
    assert "Summer Sizzle" in (app.db_dir / "showcases.yml").read_text()
    assert app.last_run() == {
        "SHOWCASE_GENERATION": "1",
        "SHOWCASE_SHA256": snapshot.sha256,
        "SHOWCASE_INDEX_PATH": str(app.db_dir / "index.sqlite3"),
        "SHOWCASE_YML_PATH": str(app.db_dir / "showcases.yml"),
        "SHOWCASE_HTPASSWD_PATH": str(app.db_dir / "htpasswd"),
        "SHOWCASE_PAGE_PATHS": "/showcase/2026/boston/summer/",
    }
    assert "placed generation 1" in agent.logs()  # the commands' output is in the agent's log
    assert "rendered 5 pages" in agent.logs()
    # the agent answers a page check with the application's answer (the updater asks it)
    via_agent = httpx.get(agent.url + "/showcase/2026/boston/summer/", timeout=5)
    assert (via_agent.status_code, via_agent.text) == (200, "<h1>Summer Sizzle</h1>")


def test_a_failing_command_fails_the_machine_with_its_output_and_a_retry_recovers(
    agent: AgentProcess, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    assert agent.update(_publish(store, tmp_path, 1, SUMMER), showcase_ids=[10]).status_code == 200
    second = _publish(store, tmp_path, 2, SUMMER, LONE)
    app.mode = "fail"

    failed = agent.update(second, showcase_ids=[11])

    assert failed.status_code == 500
    detail = failed.json()["detail"]
    assert "exited with status 1" in detail and "prerender.py" in detail
    assert "in the agent's log" in detail
    assert "something went wrong" not in detail  # the output never goes into an HTTP answer
    assert "line 0: something went wrong" in agent.logs()  # every line is in the log
    assert "line 29: something went wrong" in agent.logs()
    assert agent.status()["generation"] == 1  # not reported as applied
    # As documented: the verified files stay placed (whole); the commands run again on retry.
    assert sha256_file(app.db_dir / "index.sqlite3") == second.sha256

    app.mode = "ok"
    retried = agent.update(second, showcase_ids=[11])
    assert retried.status_code == 200, retried.text
    assert agent.status()["generation"] == 2
    assert app.last_run()["SHOWCASE_PAGE_PATHS"] == "/showcase/2027/chicago/"  # a lone showcase
    assert _page(app, "/showcase/2027/chicago/") == 200


def test_a_hanging_command_is_killed_with_its_children_and_says_it_timed_out(
    agent: AgentProcess, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    snapshot = _publish(store, tmp_path, 1, SUMMER)
    app.mode = "hang"

    failed = agent.update(snapshot, showcase_ids=[10])

    assert failed.status_code == 500
    detail = failed.json()["detail"]
    assert f"timed out after {COMMAND_TIMEOUT_S}s and was killed" in detail
    assert "waiting for ever" not in detail and "waiting for ever" in agent.logs()
    assert agent.status()["generation"] is None
    child = int((app.site / "child.pid").read_text())
    wait_until(lambda: not _alive(child), 10, "the command's child to be killed too")

    app.mode = "ok"
    assert agent.update(snapshot, showcase_ids=[10]).status_code == 200
    assert agent.status()["generation"] == 1


def test_a_page_that_never_answers_is_a_failure_naming_it(
    agent: AgentProcess, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    app.mode = "nopage"
    failed = agent.update(_publish(store, tmp_path, 1, WINTER), showcase_ids=[12])
    assert failed.status_code == 500
    detail = failed.json()["detail"]
    assert f"{app.url}/showcase/2027/seattle/winter/ did not answer rightly" in detail
    # seattle's pages are served in sjc: this iad machine had to answer the replay there
    assert "answered 404, not 307 with a fly-replay to sjc" in detail
    assert agent.status()["generation"] is None


def test_a_failure_before_the_files_are_placed_changes_nothing(
    agent: AgentProcess, app: StandIn, store: S3SnapshotStore, tmp_path: Path
) -> None:
    assert agent.update(_publish(store, tmp_path, 1, SUMMER), showcase_ids=[10]).status_code == 200
    before = _files(app)
    # A showcase the snapshot does not hold: refused before anything is written.
    failed = agent.update(_publish(store, tmp_path, 2, SUMMER, LONE), showcase_ids=[99])
    assert failed.status_code == 500 and "showcase 99 is not in this snapshot" in failed.text
    assert _files(app) == before
    assert agent.status()["generation"] == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(FileNotFoundError):  # a zombie waiting to be reaped is not alive
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return False
    return True


ESCAPES = [
    "/showcase/../../admin/",
    "/showcase/%2e%2e/%2e%2e/admin/",
    "/showcase/%2E%2E/%2E%2E/admin/",
    "/showcase/2026/..%2f..%2fadmin/x/",
    "/showcase/2026/boston/%2e%2e/",
    "/showcase/studios/../../admin/",
    "/showcase/studios/..%2f..%2fadmin/",
    "/showcase/2026/./../admin/",
    "/showcase/2026/boston%5c..%5cadmin/x/",
]


def test_the_agent_forwards_nothing_but_showcase_pages(agent: AgentProcess, app: StandIn) -> None:
    """The application's other pages (its /admin/, normally behind the front proxy's htpasswd)
    are never reached through the agent: raw paths with dot segments or escapes are 404s."""
    (app.site / "admin").mkdir()
    (app.site / "admin" / "index.html").write_text("<h1>the application's admin page</h1>")
    port = int(agent.url.rsplit(":", 1)[1])

    answers = {target: raw_get("127.0.0.1", port, target) for target in ESCAPES}

    assert answers == dict.fromkeys(ESCAPES, 404)
    assert app.seen == []  # not one request reached the application
    raw_get("127.0.0.1", port, "/showcase/2026/boston/summer/")  # a page's shape: forwarded,
    assert app.seen == ["/showcase/2026/boston/summer/"]  # by its checked segments
