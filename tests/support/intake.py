"""A real intake process for tests: `python -m intake seed` (as the local run does it, with
SHOWCASE_DEV_MODE=1), then `python -m intake` (without) on a free
port with its own index, against the NATS given; its output goes to `intake.log` beside the
index. `url`, `index_path`, `stop()`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from devstack.ports import free_port

from tests.support.waiting import wait_until

SECRET = "test-progress-token-secret-test-progress"
SESSION_SECRET = "test-session-secret-test-session-secret"


class IntakeProcess:
    def __init__(self, data_dir: Path, nats_url: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.index_path = data_dir / "index.sqlite3"
        self.log_path = data_dir / "intake.log"
        self.env = (
            os.environ
            | {
                "INDEX_DB_PATH": str(self.index_path),
                "SHOWCASES_YML_PATH": str(data_dir / "showcases.yml"),
                "NATS_URL": nats_url,
                "INTAKE_PORT": str(self.port),
                "PROGRESS_TOKEN_SECRET": SECRET,
                "INTAKE_SESSION_SECRET": SESSION_SECRET,
                "SMTP_HOST": "",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
            | (env or {})
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 120.0) -> IntakeProcess:
        """Seed, start, and wait until /readyz answers 200 (imports are slow on a busy host)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            command = [sys.executable, "-m", "intake"]
            # the local run's seeding (only SHOWCASE_DEV_MODE=1 seeds); the service runs without it
            seed_env = self.env | {"SHOWCASE_DEV_MODE": "1"}
            subprocess.run([*command, "seed"], env=seed_env, stdout=log, stderr=log, check=True)
            self.proc = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self._ready, timeout_s, f"intake ready on {self.url} (log: {self.log_path})")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"intake exited; see {self.log_path}")
        try:
            return httpx.get(self.url + "/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed, nothing is finished."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
