"""Real machine-agent processes for tests, and index snapshots for them to apply.

    fleet = agent_fleet                      # the fixture: stops every agent it started
    a = fleet.start("m1", "ord")             # python -m machine_agent on a free port
    agents = fleet.start_many(4)             # spawned together, then awaited
    a.url, a.status(), a.wait_for_generation(3), a.stop(), a.kill(), a.start()

    write_index(path, locations, showcases, users)   # a Rails-shaped index.sqlite3
    publish_snapshot(store, path, generation)        # upload + move the `latest` pointer

Each agent has its own data dir (kept across stop/start, so a restart keeps its generation), its
own log file (`agent.log` beside the data dir, shown by `logs()`), the S3 settings and the
update secret given.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack.ports import free_port
from showcase_common.events import Snapshot
from showcase_common.index import Location, Region, Showcase, User
from showcase_common.settings import S3Settings
from showcase_common.snapshots import S3SnapshotStore, SnapshotStore, sha256_file

from tests.support.metrics import parse_samples
from tests.support.rails_fixture import (
    KNOWN_LOGINS,
    RailsRows,
    fixture_regions,
    write_rails_index,
)
from tests.support.signing import VERIFY_ENV, signer_of_tests
from tests.support.waiting import wait_until

DEFAULT_SECRET = "test-machine-update-secret-of-32-bytes"
_OWN_ENV_PREFIXES = ("AGENT_", "FLY_", "S3_", "AWS_", "MACHINE_UPDATE_SECRET", "SNAPSHOT_")


class AgentProcess:
    def __init__(
        self,
        agent_id: str,
        region: str,
        port: int | None,
        data_dir: Path,
        s3_settings: S3Settings,
        secret: str | None = DEFAULT_SECRET,
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        self.agent_id = agent_id
        self.region = region
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.data_dir = Path(data_dir)
        self.log_path = self.data_dir.with_name(self.data_dir.name + ".log")
        self.s3_settings = s3_settings
        self.secret = secret
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_ENV_PREFIXES)}
        for name, value in self.s3_settings.model_dump().items():
            if value is not None:
                env[name.upper()] = str(value)
        env |= {
            "AGENT_ID": self.agent_id,
            "AGENT_REGION": self.region,
            "AGENT_HOST": "127.0.0.1",
            "AGENT_PORT": str(self.port),
            "AGENT_DATA_DIR": str(self.data_dir),
            "AGENT_CATCHUP_RETRY_MIN_S": "0.2",
            "AGENT_CATCHUP_RETRY_MAX_S": "2",
            "PYTHONUNBUFFERED": "1",
            **VERIFY_ENV,
        }
        if self.secret is not None:
            env["MACHINE_UPDATE_SECRET"] = self.secret
        return env | self.extra_env

    def spawn(self) -> None:
        """Start the process without waiting for it (see `wait_ready`)."""
        assert not self.running, f"agent {self.agent_id} is already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "machine_agent"],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        wait_until(self._answers, timeout_s, f"agent {self.agent_id} answering on {self.url}")

    def start(self, timeout_s: float = 90.0) -> AgentProcess:
        """Start and wait until `/healthz` answers; a free port is re-picked if it was taken.

        The generous deadline is for a busy CI host (imports alone take seconds there).
        """
        for _attempt in range(3):
            self.spawn()
            try:
                self.wait_ready(timeout_s)
                return self
            except RuntimeError:  # it exited
                if self._fixed_port:
                    raise
                self.port = free_port()  # lost a race for the port: try another
            except BaseException:
                self.kill()  # never leave a half-started agent behind
                raise
        raise RuntimeError(f"agent {self.agent_id} did not start:\n{self.logs()[-4000:]}")

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"agent {self.agent_id} exited with {self.proc.returncode}")
        try:
            return httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM and wait (a clean shutdown); SIGKILL if it hangs."""
        if not self.running:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: a crash, as the fault tests need."""
        if self.running:
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait()

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(self.url + "/showcase/status", timeout=5).json()
        return answer

    def wait_for_generation(self, generation: int, timeout_s: float = 60.0) -> None:
        wait_until(
            lambda: (self.status().get("generation") or 0) >= generation,
            timeout_s,
            f"agent {self.agent_id} at generation {generation}",
        )

    def update(
        self, snapshot: Snapshot, secret: str | None = None, showcase_ids: list[int] | None = None
    ) -> httpx.Response:
        """POST /showcase/update_config as the updater does (naming the new showcases)."""
        body = snapshot.model_dump(mode="json")
        if showcase_ids:
            body["showcase_ids"] = showcase_ids
        return httpx.post(
            self.url + "/showcase/update_config",
            json=body,
            headers={"Authorization": f"Bearer {secret or self.secret}"},
            timeout=75,
        )

    def update_outcomes(self) -> dict[str, float]:
        """`agent_updates_total` by outcome (applied, no_op, ...), from its `/metrics`."""
        response = httpx.get(self.url + "/metrics", timeout=5)
        response.raise_for_status()
        return {
            dict(labels)["outcome"]: value
            for (name, labels), value in parse_samples(response.text).items()
            if name == "agent_updates_total"
        }

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class AgentFleet:
    """Starts agents in a test; `close()` (the fixture does it) stops them all."""

    def __init__(self, base_dir: Path, s3_settings: S3Settings, secret: str = DEFAULT_SECRET):
        self.base_dir = base_dir
        self.s3_settings = s3_settings
        self.secret = secret
        self.agents: list[AgentProcess] = []

    def create(self, agent_id: str, region: str = "local", **kwargs: Any) -> AgentProcess:
        """An agent not yet started (start it with `.start()`)."""
        kwargs.setdefault("secret", self.secret)
        agent = AgentProcess(
            agent_id,
            region,
            kwargs.pop("port", None),
            self.base_dir / agent_id,
            kwargs.pop("s3_settings", self.s3_settings),
            **kwargs,
        )
        self.agents.append(agent)
        return agent

    def start(self, agent_id: str, region: str = "local", **kwargs: Any) -> AgentProcess:
        return self.create(agent_id, region, **kwargs).start()

    def start_many(
        self, n: int, regions: Iterable[str] = ("ord", "iad", "sjc", "ams"), prefix: str = "m"
    ) -> list[AgentProcess]:
        """`n` agents, spawned together (start-up overlaps), then awaited."""
        region_list = list(regions)
        created = [
            self.create(f"{prefix}{i + 1}", region_list[i % len(region_list)]) for i in range(n)
        ]
        for agent in created:
            agent.spawn()
        for agent in created:
            try:
                agent.wait_ready()
            except RuntimeError:  # most likely a port race: one more try on a fresh port
                agent.port = free_port()
                agent.start()
        return created

    def close(self) -> None:
        """Stop every agent: all told at once, then each waited for (a big fleet stops in the
        time of its slowest agent, not of all of them one after another)."""
        for agent in self.agents:
            if agent.running:
                assert agent.proc is not None
                with contextlib.suppress(ProcessLookupError):
                    agent.proc.send_signal(signal.SIGTERM)
        for agent in self.agents:
            agent.stop()


@pytest.fixture
def agent_fleet(tmp_path: Path, s3_settings: S3Settings) -> Iterator[AgentFleet]:
    fleet = AgentFleet(tmp_path / "agents", s3_settings)
    try:
        yield fleet
    finally:
        fleet.close()


# --- index snapshots --------------------------------------------------------------------------


def write_index(
    path: Path,
    locations: Iterable[Location],
    showcases: Iterable[Showcase] = (),
    users: Iterable[User] = (),
    regions: Iterable[Region] | None = None,
) -> str:
    """Create a Rails-shaped index at `path` with these rows; its sha256. `regions` defaults to
    the fixture's (`tests.support.rails_fixture`: Fly regions plus one of another type)."""
    rows = RailsRows(
        locations=list(locations),
        showcases=list(showcases),
        users=list(users),
        regions=fixture_regions() if regions is None else list(regions),
    )
    write_rails_index(path, rows)
    return sha256_file(path)


def snapshot_store(s3_settings: S3Settings) -> S3SnapshotStore:
    """The store as the syncer writes it: signed with the tests' key, which the agents check."""
    return S3SnapshotStore.from_settings(s3_settings, signer=signer_of_tests())


def publish_snapshot(
    store: SnapshotStore, path: Path, generation: int, *, advance: bool = True
) -> Snapshot:
    """Upload `path` as `generation` and (by default) point `latest` at it, as the syncer does."""
    snapshot = store.upload(path, generation, sha256_file(path))
    if advance:
        _, etag = store.latest()
        store.advance_pointer(snapshot, etag)
    return snapshot


def publish_sample(
    store: SnapshotStore, folder: Path, generation: int, *extra: Showcase, advance: bool = True
) -> Snapshot:
    """The sample index (`sample_rows`) with `extra` showcases, written as
    `folder/index-<generation>.sqlite3` and published as `generation` (`publish_snapshot`)."""
    path = sample_index_path(folder, generation)
    write_index(path, *sample_rows(extra))
    return publish_snapshot(store, path, generation, advance=advance)


def sample_index_path(folder: Path, generation: int) -> Path:
    """Where `publish_sample` writes generation `generation`'s index."""
    return folder / f"index-{generation}.sqlite3"


def sample_rows(
    extra_showcases: Iterable[Showcase] = (),
) -> tuple[list[Location], list[Showcase], list[User]]:
    """A small index: 4 users (one without a login), 3 studios, 4 showcases (one a lone "showcase"), plus extras.

    Boston's region is served (iad), Seattle's (`sea`) is not: its nearest served region is sjc.
    """
    users = [
        User(id=1, userid="admin", password=KNOWN_LOGINS["admin"][1], sites="index"),
        User(id=2, userid="studio", password=KNOWN_LOGINS["studio"][1], sites="Boston Ballroom"),
        User(id=3, userid="other", password="other:{SHA}0JQeaNqPOBUf+Gph/Fn3xc+fyqI="),
        User(id=4, userid="nologin", password=None),
    ]
    locations = [
        Location(
            id=1,
            key="boston",
            name="Boston Ballroom",
            region="iad",
            user_id=2,
            latitude=42.36,
            longitude=-71.06,
            logo="arthur-murray-logo.gif",
        ),
        Location(
            id=2,
            key="chicago",
            name="Chicago Dance",
            region="ord",
            locale="en_AU",
            logo="c.png",
            latitude=41.88,
            longitude=-87.63,
        ),
        Location(
            id=3,
            key="seattle",
            name="Seattle Swing",
            region="sea",
            user_id=3,
            latitude=47.61,
            longitude=-122.33,
        ),
    ]
    showcases = [
        Showcase(
            id=1,
            location_id=1,
            year=2026,
            key="spring",
            name="Spring Showcase",
            order=1,
            date="2026-04-12 - 2026-04-13",
        ),
        Showcase(
            id=2,
            location_id=2,
            year=2026,
            key="showcase",
            name="Chicago Showcase",
            order=2,
            date="2026-05-02",
        ),
        Showcase(id=3, location_id=3, year=2025, key="fall", name="Fall Frolic", order=3),
        Showcase(
            id=4,
            location_id=3,
            year=2025,
            key="winter",
            name="Winter Ball",
            order=4,
            date="2025-12-06",
        ),
        *extra_showcases,
    ]
    return locations, showcases, users
