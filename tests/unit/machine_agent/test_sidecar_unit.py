"""Sidecar mode's rules that need no process: settings, page paths, staging that fails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from machine_agent.applier import ApplyFailed, Incoming
from machine_agent.config import AgentSettings
from machine_agent.index_data import IndexData
from machine_agent.new_pages import NotInSnapshot, new_pages
from machine_agent.sidecar import SidecarInstaller, SidecarSettings
from showcase_common.events import Snapshot
from showcase_common.index import Showcase

from tests.support.agents import sample_rows

LONE_2027 = Showcase(id=11, location_id=2, year=2027, key="showcase", name="Lone", order=9)
NOT_LONE = Showcase(id=12, location_id=3, year=2027, key="showcase", name="One", order=10)
BESIDE = Showcase(id=13, location_id=3, year=2027, key="other", name="Two", order=11)


def _index(*extra: Showcase) -> IndexData:
    locations, showcases, users = sample_rows(extra)
    return IndexData(locations, showcases, users, regions=[])


@pytest.fixture(autouse=True)
def _dev_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_RAILS_DB_DIR", "/data/db")
    monkeypatch.setenv("AGENT_POST_APPLY_COMMANDS", '["bin/config-update", ["bin/prerender"]]')
    monkeypatch.setenv("AGENT_APP_URL", "http://127.0.0.1:3000/")
    config = SidecarSettings.from_settings(AgentSettings(_env_file=None))
    assert config is not None
    assert (config.db_dir, config.app_url) == (Path("/data/db"), "http://127.0.0.1:3000")
    assert list(config.commands) == ["bin/config-update", ["bin/prerender"]]


def test_without_a_database_directory_the_built_in_pages_stay() -> None:
    assert SidecarSettings.from_settings(AgentSettings(_env_file=None)) is None


def test_new_pages_follow_the_fleets_rule_for_a_lone_showcase() -> None:
    index = _index(LONE_2027, NOT_LONE, BESIDE)
    assert new_pages(index, [11, 12, 1]) == [
        "/showcase/2026/boston/spring/",
        "/showcase/2027/chicago/",  # chicago's only 2027 showcase, keyed `showcase`
        "/showcase/2027/seattle/showcase/",  # seattle has two in 2027
    ]
    with pytest.raises(NotInSnapshot, match="showcase 99 is not in this snapshot"):
        new_pages(index, [99])


def test_a_failure_while_staging_leaves_the_applications_files_as_they_were(
    tmp_path: Path,
) -> None:
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    (db_dir / "showcases.yml").write_text("old yml")
    (db_dir / "index.sqlite3").write_text("old index")
    installer = SidecarInstaller(SidecarSettings(db_dir=db_dir, app_url="http://127.0.0.1:9"))
    snapshot = Snapshot(generation=2, object_key="k", sha256="0" * 64, size=1)
    vanished = Incoming(snapshot, tmp_path / "gone.sqlite3", _index())  # the copy will fail

    with pytest.raises(ApplyFailed, match="staging the files failed"):
        asyncio.run(installer.install(vanished, {}))

    assert sorted(p.name for p in db_dir.iterdir()) == ["index.sqlite3", "showcases.yml"]
    assert (db_dir / "showcases.yml").read_text() == "old yml"  # not half-replaced
    assert (db_dir / "index.sqlite3").read_text() == "old index"
