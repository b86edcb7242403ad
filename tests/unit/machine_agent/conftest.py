from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from machine_agent.bootstrap import AgentPorts, build
from machine_agent.config import AgentSettings
from machine_agent.documentation import AgentApp
from showcase_common.events import Snapshot
from showcase_common.index.models import Showcase
from showcase_common.runner import in_process_app

from tests.support.agents import publish_snapshot, sample_rows, write_index
from tests.support.fakes import FakeSnapshotStore
from tests.support.ports import FakeAgentPorts

SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret"
AUTH = {"Authorization": f"Bearer {SECRET}"}

Publish = Callable[..., Snapshot]


def in_process(settings: AgentSettings, ports: AgentPorts, *, catch_up: bool = True) -> AgentApp:
    """`build(settings, ports)` as an app whose lifespan runs the agent: its start-up (the data
    dir, the served generation read back) and, unless `catch_up=False`, the boot catch-up."""
    app = in_process_app(build(settings, ports), workers=catch_up)
    assert isinstance(app, AgentApp)  # build's own
    return app


@pytest.fixture
def store() -> FakeSnapshotStore:
    return FakeSnapshotStore()


@pytest.fixture
def settings(tmp_path: Path) -> AgentSettings:
    return AgentSettings(
        agent_id="m1",
        agent_region="ord",
        agent_data_dir=tmp_path / "agent",
        machine_update_secret=SECRET,
        agent_catchup_retry_min_s=0.05,
        agent_catchup_retry_max_s=0.1,
    )


@pytest.fixture
def publish(tmp_path: Path, store: FakeSnapshotStore) -> Publish:
    """Put an index with the sample rows (plus `extra` showcases) in the store as `generation`."""

    def _publish(generation: int, extra: Iterable[Showcase] = (), advance: bool = True) -> Snapshot:
        path = tmp_path / f"index-{generation}.sqlite3"
        write_index(path, *sample_rows(extra))
        return publish_snapshot(store, path, generation, advance=advance)

    return _publish


@pytest.fixture
def client(settings: AgentSettings, store: FakeSnapshotStore) -> Iterator[TestClient]:
    """The agent without boot catch-up (tests of catch-up build their own)."""
    with TestClient(in_process(settings, FakeAgentPorts(store=store), catch_up=False)) as c:
        yield c


def update(client: TestClient, snapshot: Snapshot, headers: dict[str, str] = AUTH):
    return client.post("/showcase/update_config", json=snapshot.model_dump(), headers=headers)
