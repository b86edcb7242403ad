"""From outside: `python -m intake seed` as a deployment runs it (no SHOWCASE_DEV_MODE, every
secret set) on an empty index path creates no user, no file, and exits non-zero saying how to
get the real index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_seed_outside_dev_mode_exits_non_zero_and_creates_no_user(tmp_path: Path) -> None:
    index = tmp_path / "index" / "index.sqlite3"
    env = {k: v for k, v in os.environ.items() if k != "SHOWCASE_DEV_MODE"} | {
        "INDEX_DB_PATH": str(index),
        "SHOWCASES_YML_PATH": str(tmp_path / "index" / "showcases.yml"),
        "PROGRESS_TOKEN_SECRET": "p" * 40,
        "INTAKE_SESSION_SECRET": "s" * 40,
        "LOG_JSON": "false",
    }

    done = subprocess.run(
        [sys.executable, "-m", "intake", "seed"], env=env, capture_output=True, text=True
    )

    assert done.returncode != 0
    assert not index.exists()  # no index, so no user
    assert "db/index.sqlite3" in done.stderr and "Rails machine" in done.stderr
