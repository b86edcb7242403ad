"""A sidecar agent (a real process) driving the machine's own update script as navigator does,
and checking the new page region by region against a navigator stand-in (a real HTTP server
answering another region's page with the fly-replay)."""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack.standin_machine import StandInMachine, serve
from showcase_common.events import Snapshot
from showcase_common.index import Showcase
from showcase_common.snapshots import S3SnapshotStore

from tests.support.agents import (
    AgentFleet,
    publish_sample,
    sample_index_path,
)

SUMMER = Showcase(id=10, location_id=1, year=2026, key="summer", name="Summer Sizzle", order=5)
"""At boston, served in iad."""
CGI_SCRIPT = Path(__file__).parent / "cgi" / "update_configuration.rb"
NEEDS_RUBY = pytest.mark.skipif(
    shutil.which("ruby") is None, reason="Debian's ruby is not installed (.ci/run installs it)"
)


class Navigator:
    """The navigator stand-in of this machine (the pages part of `devstack.standin_machine`)."""

    def __init__(self, root: Path, region: str) -> None:
        self.machine = StandInMachine("navigator", region, root / "navigator")
        self.server = serve(self.machine, "127.0.0.1", 0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reload_command(self) -> list[str]:
        """What `navigator -s reload` does here: the stand-in learns the placed index."""
        code = (
            "import gzip, os, urllib.request as u; "
            "body = gzip.compress(open(os.environ['SHOWCASE_INDEX_PATH'], 'rb').read()); "
            f"u.urlopen(u.Request('{self.url}/showcase/update_config', data=body, "
            "headers={'Content-Encoding': 'gzip'})).read()"
        )
        return [sys.executable, "-c", code]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def navigator(tmp_path: Path) -> Iterator[Navigator]:
    running = Navigator(tmp_path, "ord")
    yield running
    running.stop()


def _publish(store: S3SnapshotStore, tmp_path: Path, generation: int) -> tuple[Snapshot, Path]:
    snapshot = publish_sample(store, tmp_path, generation, SUMMER, advance=False)
    return snapshot, sample_index_path(tmp_path, generation)


def _sidecar_env(db_dir: Path, navigator: Navigator, **extra: str) -> dict[str, str]:
    return {
        "AGENT_RAILS_DB_DIR": str(db_dir),
        "AGENT_POST_APPLY_COMMANDS": json.dumps([navigator.reload_command()]),
        "AGENT_APP_URL": navigator.url,
        "AGENT_PAGE_CHECK_TIMEOUT_S": "2",
        **extra,
    }


def test_another_regions_page_counts_when_navigator_hands_it_on_there(
    agent_fleet: AgentFleet, navigator: Navigator, store: S3SnapshotStore, tmp_path: Path
) -> None:
    agent = agent_fleet.start("rails-ord", "ord", env=_sidecar_env(tmp_path / "db", navigator))
    snapshot, _ = _publish(store, tmp_path, 1)
    response = agent.update(snapshot, showcase_ids=[10])
    assert response.status_code == 200, response.text  # the iad page, replayed to iad


def test_a_replay_to_a_wrong_region_fails_the_update(
    agent_fleet: AgentFleet, navigator: Navigator, store: S3SnapshotStore, tmp_path: Path
) -> None:
    navigator.machine.replay_to = "sjc"
    agent = agent_fleet.start("rails-ord", "ord", env=_sidecar_env(tmp_path / "db", navigator))
    snapshot, _ = _publish(store, tmp_path, 1)
    response = agent.update(snapshot, showcase_ids=[10])
    assert response.status_code >= 500
    assert "fly-replay to sjc" in response.text and "to iad" in response.text
    assert agent.status()["generation"] is None  # not recorded as applied


def test_a_page_of_its_own_region_answering_404_fails_the_update(
    agent_fleet: AgentFleet, tmp_path: Path, store: S3SnapshotStore
) -> None:
    iad = Navigator(tmp_path, "iad")
    iad.machine.mode = "nopage"  # reloads, but the page never appears
    try:
        agent = agent_fleet.start("rails-iad", "iad", env=_sidecar_env(tmp_path / "db", iad))
        snapshot, _ = _publish(store, tmp_path, 1)
        response = agent.update(snapshot, showcase_ids=[10])
    finally:
        iad.stop()
    assert response.status_code >= 500 and "answered 404" in response.text


@NEEDS_RUBY
def test_the_apps_own_update_script_runs_as_navigators_cgi(
    agent_fleet: AgentFleet, navigator: Navigator, store: S3SnapshotStore, tmp_path: Path
) -> None:
    db_dir = tmp_path / "db"
    env = _sidecar_env(db_dir, navigator, AGENT_UPDATE_SCRIPT=str(CGI_SCRIPT))
    agent = agent_fleet.start("rails-ord", "ord", env=env)
    snapshot, source = _publish(store, tmp_path, 1)

    response = agent.update(snapshot, showcase_ids=[10])

    assert response.status_code == 200, response.text
    assert agent.status()["generation"] == 1
    assert (db_dir / "index.sqlite3").read_bytes() == source.read_bytes()  # written by the script
    cgi = json.loads((db_dir / "cgi-env.json").read_text())
    body_length = len(gzip.compress(source.read_bytes(), mtime=0))
    assert cgi["REQUEST_METHOD"] == "POST" and cgi["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert cgi["CONTENT_LENGTH"] == str(body_length)
    assert cgi["CONTENT_TYPE"] == "application/vnd.sqlite3"
    assert cgi["HTTP_CONTENT_ENCODING"] == "gzip" and cgi["HTTP_X_UPDATE_TIME"].endswith("Z")
    assert cgi["RAILS_DB_VOLUME"] == str(db_dir)
    assert cgi["MACHINE_UPDATE_SECRET"] is None and cgi["AWS_SECRET_ACCESS_KEY"] is None
    assert (db_dir / "cgi-cwd").read_text() == str(CGI_SCRIPT.parent)  # navigator's cwd


@NEEDS_RUBY
def test_the_scripts_failed_line_fails_the_update_naming_it(
    agent_fleet: AgentFleet, navigator: Navigator, store: S3SnapshotStore, tmp_path: Path
) -> None:
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    (db_dir / "fail-htpasswd").touch()
    env = _sidecar_env(db_dir, navigator, AGENT_UPDATE_SCRIPT=str(CGI_SCRIPT))
    agent = agent_fleet.start("rails-ord", "ord", env=env)
    snapshot, _ = _publish(store, tmp_path, 1)

    response = agent.update(snapshot, showcase_ids=[10])

    assert response.status_code >= 500
    assert "Configuration update FAILED (htpasswd update failed)" in response.text
    assert agent.status()["generation"] is None
