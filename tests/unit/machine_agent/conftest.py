from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from machine_agent.bootstrap import create_app
from machine_agent.config import AgentSettings
from showcase_common.events import Snapshot
from showcase_common.index.models import Showcase

from tests.support.agents import publish_snapshot, sample_rows, write_index
from tests.support.fakes import FakeSnapshotStore

SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret"
AUTH = {"Authorization": f"Bearer {SECRET}"}

Publish = Callable[..., Snapshot]


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
    with TestClient(create_app(settings, store=store, catch_up=False)) as c:
        yield c


def update(client: TestClient, snapshot: Snapshot, headers: dict[str, str] = AUTH):
    return client.post("/showcase/update_config", json=snapshot.model_dump(), headers=headers)
