"""The agent runs beside the Rails application on every machine, so what it imports is what it
costs: an agent built as `python -m machine_agent` builds it (settings, real ports, the app)
must not have loaded the libraries it was freed of (docs/performance.md, "The agent"). Checked
in a fresh interpreter: this test process has imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FORBIDDEN = {
    "boto3": "S3 is read with signed GETs (showcase_common.s3_reader)",
    "botocore": "S3 is read with signed GETs (showcase_common.s3_reader)",
    "sqlalchemy": "the index is read with sqlite3 (machine_agent.index_data)",
    "sqlmodel": "the index is read with sqlite3 (machine_agent.index_data)",
    "nats": "an agent has no NATS",
    "fastapi": "the agent serves Starlette; FastAPI only builds its document, when asked",
    "cryptography": "Ed25519 is verified with PyNaCl (showcase_common.signing)",
}

PROGRAM = """
import json, sys
from machine_agent.bootstrap import build, ports
from machine_agent.config import AgentSettings
settings = AgentSettings()
build(settings, ports(settings))
print(json.dumps(sorted(m.partition(".")[0] for m in sys.modules)))
"""


def test_a_built_agent_has_not_imported_the_heavy_libraries(tmp_path: Path) -> None:
    env = {
        "SHOWCASE_DEV_MODE": "1",
        "AGENT_DATA_DIR": str(tmp_path / "agent"),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "machine_agent" in loaded  # the program did build an agent
    found = {name: why for name, why in FORBIDDEN.items() if name in loaded}
    assert not found, f"the agent imports what it must not: {found}"
