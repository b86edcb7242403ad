"""The whole local run as a pytest fixture: every server and service as real processes.

`local_stack` (session scope: it takes a few seconds to start, so tests share one) runs the same
`devstack.Stack` as `make run`, on free ports and a temporary data directory. Its output goes to
`<tmp>/stack.log` (printed when start-up fails). A test that stops a process must start it again:
`with local_stack.stopped("local-2"): ...` does both.
"""

from __future__ import annotations

import mailbox
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from devstack.config import StackConfig
from devstack.output import LogMux
from devstack.smtp_sink import messages
from devstack.stack import Stack

STUDIO = ("studio", "studio")
ADMIN = ("admin", "admin")


@dataclass
class LocalStack:
    """What tests need of a running stack: URLs, data directories, and control of processes."""

    stack: Stack
    log_path: Path

    @property
    def intake_url(self) -> str:
        return self.stack.intake_url

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    @property
    def agent_urls(self) -> dict[str, str]:
        return self.stack.agent_urls

    @property
    def fleet_url(self) -> str:
        return self.stack.config.fleet_url

    @property
    def metrics_urls(self) -> dict[str, str]:
        return self.stack.config.metrics_urls

    def agent_data_dir(self, agent_id: str) -> Path:
        return self.stack.agent_data_dir(agent_id)

    @property
    def maildir(self) -> Path:
        return self.stack.maildir

    def mail(self) -> list[mailbox.MaildirMessage]:
        return messages(self.stack.maildir)

    @property
    def index_db_path(self) -> Path:
        return self.stack.index_db_path

    def stop_process(self, name: str) -> None:
        self.stack.stop_process(name)

    def kill_process(self, name: str) -> None:
        self.stack.kill_process(name)

    def start_process(self, name: str) -> None:
        self.stack.start_process(name)

    def stopped(self, name: str) -> AbstractContextManager[None]:
        return self.stack.stopped(name)

    @contextmanager
    def frozen(self, name: str) -> Iterator[None]:
        """SIGSTOP a process (and its group): it holds its sockets but answers nothing (a hang).
        SIGCONT on exit, whatever happens, so the shared stack gets it back."""
        pid = self.stack.process(name).pid
        assert pid is not None, f"{name} is not running"
        os.killpg(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(pid, signal.SIGCONT)

    def studio_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.intake_url, auth=STUDIO, timeout=30)

    def owned_location(self, login: str = "studio") -> dict[str, Any]:
        """A location the user owns, read from the Rails index (the seed's choice)."""
        with sqlite3.connect(self.index_db_path) as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                "SELECT locations.* FROM locations JOIN users ON users.id = locations.user_id "
                "WHERE users.userid = ? ORDER BY locations.id LIMIT 1",
                (login,),
            ).fetchone()
        assert row is not None, f"the seed gives {login} no location"
        return dict(row)

    def showcase_count(self) -> int:
        """Showcases in the index database: what a refused submission must leave unchanged."""
        with sqlite3.connect(self.index_db_path) as db:
            return int(db.execute("SELECT count(*) FROM showcases").fetchone()[0])

    def showcases_yml(self, agent_id: str) -> dict[Any, Any]:
        """The agent's generated showcases.yml (wherever under its data dir the agent keeps it)."""
        found = sorted(
            self.agent_data_dir(agent_id).rglob("showcases.yml"),
            key=lambda p: p.stat().st_mtime,
        )
        assert found, f"no showcases.yml under {self.agent_data_dir(agent_id)}"
        return yaml.safe_load(found[-1].read_text()) or {}


@contextmanager
def running_local_stack(data_dir: Path, **config: object) -> Iterator[LocalStack]:
    """A whole local stack on free ports under `data_dir`, stopped on exit; `config` overrides
    the `StackConfig` (e.g. `nats_cluster=3`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "stack.log"
    with log_path.open("w", encoding="utf-8") as log:
        stack_config = StackConfig.on_free_ports(data_dir / "data", **config)
        stack = Stack(stack_config, LogMux(log, colour=False))
        started = time.monotonic()
        try:
            stack.start(timeout_s=240)  # generous: a loaded 2-core box imports 8 Pythons at once
        except Exception as exc:
            log.flush()
            tail = "".join(log_path.read_text().splitlines(keepends=True)[-80:])
            pytest.fail(f"the local stack did not start ({exc}); its log ends with:\n{tail}")
        log.write(f"devstack | started in {time.monotonic() - started:.1f}s\n")
        try:
            yield LocalStack(stack, log_path)
        finally:
            stack.stop()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_local_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running
