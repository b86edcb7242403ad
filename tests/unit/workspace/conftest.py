"""What the workspace tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # FLEET_FILE's default is relative to the repository
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:9")  # nothing listens: nothing may try
    monkeypatch.setenv("INDEX_DB_PATH", str(tmp_path / "index.sqlite3"))
    monkeypatch.setenv("SHOWCASES_YML_PATH", str(tmp_path / "showcases.yml"))
    monkeypatch.setenv("AGENT_DATA_DIR", str(tmp_path / "agent"))
    monkeypatch.setenv("SYNCER_WORK_DIR", str(tmp_path / "staging"))
