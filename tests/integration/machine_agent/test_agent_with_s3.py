"""The agent against the real S3 endpoint: the app in-process, reading S3 as it does in
production (its signed GETs, `showcase_common.s3_reader`); the tests publish with the syncer's
store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from machine_agent.bootstrap import ports
from machine_agent.config import AgentSettings
from showcase_common.events import Snapshot
from showcase_common.index import Showcase
from showcase_common.settings import S3Settings
from showcase_common.snapshots import S3SnapshotStore, make_s3_client, sha256_file

from tests.support.agents import publish_snapshot, sample_rows, write_index
from tests.unit.machine_agent.conftest import in_process

SECRET = "integration-secret-integration-secret"
AUTH = {"Authorization": f"Bearer {SECRET}"}
SUMMER = Showcase(
    id=10,
    location_id=1,
    year=2026,
    key="summer",
    name="Summer Sizzle",
    order=5,
    date="2026-07-04 - 2026-07-05",
)


@pytest.fixture
def agent(tmp_path: Path, s3_settings: S3Settings, store: S3SnapshotStore) -> Iterator[TestClient]:
    settings = AgentSettings(
        **s3_settings.model_dump(),
        agent_id="m1",
        agent_region="ord",
        agent_data_dir=tmp_path / "agent",
        machine_update_secret=SECRET,
    )
    made = ports(settings)  # the agent's own reader
    with TestClient(in_process(settings, made, catch_up=False)) as client:
        yield client


def _publish(store: S3SnapshotStore, tmp_path: Path, generation: int, *extra: Showcase) -> Snapshot:
    path = tmp_path / f"index-{generation}.sqlite3"
    write_index(path, *sample_rows(extra))
    with sqlite3.connect(path) as conn:  # an intake-only table, which the agent must ignore
        conn.execute("CREATE TABLE pipeline_outbox (id INTEGER PRIMARY KEY, payload TEXT)")
        conn.execute("INSERT INTO pipeline_outbox (payload) VALUES ('{}')")
    return publish_snapshot(store, path, generation)


def _post(agent: TestClient, snapshot: Snapshot, headers: dict[str, str] = AUTH):
    return agent.post("/showcase/update_config", json=snapshot.model_dump(), headers=headers)


def test_a_new_generation_is_served_in_the_contract_shape(
    agent: TestClient, store: S3SnapshotStore, tmp_path: Path
) -> None:
    assert _post(agent, _publish(store, tmp_path, 1)).status_code == 200

    response = _post(agent, _publish(store, tmp_path, 2, SUMMER))

    assert response.status_code == 200, response.text
    assert response.json()["generation"] == 2 and response.json()["changed"] is True
    assert response.json()["pages_rendered"] == 2  # incremental: the new page + its studio
    yml = yaml.safe_load((tmp_path / "agent" / "config" / "showcases.yml").read_text())
    assert yml[2026]["boston"] == {  # symbol keys read as ":name" strings outside Ruby
        ":name": "Boston Ballroom",
        ":region": "iad",
        ":events": {
            "spring": {":name": "Spring Showcase", ":date": "2026-04-12 - 2026-04-13"},
            "summer": {":name": "Summer Sizzle", ":date": "2026-07-04 - 2026-07-05"},
        },
    }
    page = agent.get("/showcase/2026/boston/summer/")
    assert page.status_code == 200 and "Summer Sizzle" in page.text


def test_wrong_secret_is_401(agent: TestClient, store: S3SnapshotStore, tmp_path: Path) -> None:
    response = _post(agent, _publish(store, tmp_path, 1), {"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert agent.get("/showcase/status").json()["generation"] is None


def test_a_tampered_object_is_refused_and_nothing_changes(
    agent: TestClient, store: S3SnapshotStore, s3_settings: S3Settings, tmp_path: Path
) -> None:
    assert _post(agent, _publish(store, tmp_path, 1)).status_code == 200
    snapshot = _publish(store, tmp_path, 2, SUMMER)
    tampered = tmp_path / "tampered.sqlite3"
    write_index(tampered, *sample_rows([SUMMER.model_copy(update={"name": "Evil"})]))
    client = make_s3_client(s3_settings)
    signed = client.head_object(Bucket=s3_settings.s3_bucket, Key=snapshot.object_key)
    client.put_object(  # someone with write access swaps the bytes, keeping the signature
        Bucket=s3_settings.s3_bucket,
        Key=snapshot.object_key,
        Body=tampered.read_bytes(),
        Metadata=signed["Metadata"],
    )

    response = _post(agent, snapshot)

    assert response.status_code == 422 and "sha256" in response.json()["detail"]
    assert agent.get("/showcase/status").json()["generation"] == 1
    assert agent.get("/showcase/2026/boston/summer/").status_code == 404


def test_a_corrupt_database_is_refused(
    agent: TestClient, store: S3SnapshotStore, tmp_path: Path
) -> None:
    path = tmp_path / "corrupt.sqlite3"
    write_index(path, *sample_rows())
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\x00\xff" * 2048  # the second page: a b-tree, now garbage
    path.write_bytes(bytes(data))
    snapshot = store.upload(path, 1, sha256_file(path))

    response = _post(agent, snapshot)

    assert response.status_code == 422, response.text
    assert "snapshot refused" in response.json()["detail"]
    assert agent.get("/showcase/status").json()["generation"] is None


def test_older_is_409_and_the_same_is_a_no_op(
    agent: TestClient, store: S3SnapshotStore, tmp_path: Path
) -> None:
    first = _publish(store, tmp_path, 1)
    second = _publish(store, tmp_path, 2)
    assert _post(agent, second).status_code == 200

    older = _post(agent, first)
    same = _post(agent, second)

    assert older.status_code == 409 and older.json()["generation"] == 2
    assert same.status_code == 200 and same.json()["changed"] is False
