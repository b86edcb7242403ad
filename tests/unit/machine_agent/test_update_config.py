"""POST /showcase/update_config through the app, with a store in memory."""

from __future__ import annotations

from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from machine_agent.config import AgentSettings

from tests.support.fakes import FakeSnapshotStore
from tests.support.ports import FakeAgentPorts
from tests.unit.machine_agent.conftest import AUTH, Publish, in_process, update


def _config(settings: AgentSettings, name: str) -> str:
    return (settings.data_dir / "config" / name).read_text()


def test_refuses_a_missing_or_wrong_secret(client: TestClient, publish: Publish) -> None:
    snapshot = publish(1)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic s3cret"}):
        response = update(client, snapshot, headers)
        assert response.status_code == 401
    assert client.get("/showcase/status").json()["generation"] is None


def test_refuses_every_update_when_no_secret_is_configured(
    settings: AgentSettings, store: FakeSnapshotStore, publish: Publish
) -> None:
    unset = settings.model_copy(update={"machine_update_secret": None})
    with TestClient(in_process(unset, FakeAgentPorts(store=store), catch_up=False)) as client:
        assert update(client, publish(1), {"Authorization": "Bearer "}).status_code == 401


def test_applies_a_new_generation(
    client: TestClient, publish: Publish, settings: AgentSettings
) -> None:
    response = update(client, publish(1))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["machine_id"] == "m1" and body["generation"] == 1 and body["changed"] is True
    assert set(body["timings"]) == {
        "download",
        "verify",
        "swap",
        "regenerate",
        "prerender",
        "page",
        "total",
        "handler",
    }
    assert body["pages"] == {}  # no showcase named: no page to check
    assert body["pages_rendered"] == body["pages_total"] == 4 + 3  # showcases + studios
    assert client.get("/showcase/status").json() == {
        "machine_id": "m1",
        "region": "ord",
        "generation": 1,
    }
    # symbol keys (`:name:`) read as ":name" strings by a YAML 1.1 loader that is not Ruby's
    document = yaml.safe_load(_config(settings, "showcases.yml"))
    assert document[2026]["chicago"] == {
        ":name": "Chicago Dance",
        ":region": "ord",
        ":locale": "en-AU",
        ":logo": "c.png",
        ":date": "2026-05-02",
    }
    assert document[2026]["boston"][":events"]["spring"] == {
        ":name": "Spring Showcase",
        ":date": "2026-04-12 - 2026-04-13",
    }
    assert document[2025]["seattle"][":region"] == "sjc"  # `sea` is not served: the nearest
    assert _config(settings, "htpasswd") == "\n".join(
        sorted(
            [
                "admin:$apr1$Q1w2E3r4$40uTKgj9X65jnUxs6n9rs/",
                "other:{SHA}0JQeaNqPOBUf+Gph/Fn3xc+fyqI=",
                "studio:$apr1$aB3dE5fG$sthUN8Mil.9pn1/andAQV1",
            ]
        )
    )
    assert not (settings.data_dir / "config" / "tenants.list").exists()
    assert (settings.data_dir / "index" / "index.sqlite3").is_file()


def test_the_served_generation_again_is_a_no_op(
    client: TestClient, publish: Publish, store: FakeSnapshotStore
) -> None:
    snapshot = publish(1)
    assert update(client, snapshot).json()["changed"] is True

    again = update(client, snapshot)

    assert again.status_code == 200
    assert again.json()["changed"] is False and again.json()["generation"] == 1
    assert store.downloads == [1]


def test_an_older_generation_is_refused_naming_the_current(
    client: TestClient, publish: Publish
) -> None:
    old = publish(1)
    assert update(client, publish(2)).status_code == 200

    response = update(client, old)

    assert response.status_code == 409
    assert response.json()["generation"] == 2
    assert "served generation 2" in response.json()["detail"]


def test_the_same_generation_with_other_bytes_is_refused(
    client: TestClient, publish: Publish
) -> None:
    snapshot = publish(1)
    assert update(client, snapshot).status_code == 200
    other = snapshot.model_copy(update={"sha256": "0" * 64})

    assert update(client, other).status_code == 409


def test_a_tampered_object_is_refused_and_nothing_changes(
    client: TestClient, publish: Publish, store: FakeSnapshotStore, settings: AgentSettings
) -> None:
    assert update(client, publish(1)).status_code == 200
    before = _config(settings, "showcases.yml")
    snapshot = publish(2)
    store.objects[snapshot.object_key] += b"tampered"

    response = update(client, snapshot)

    assert response.status_code == 422
    assert "checksum" in response.json()["detail"]
    assert response.json()["generation"] == 1
    assert client.get("/showcase/status").json()["generation"] == 1
    assert _config(settings, "showcases.yml") == before
    assert list((settings.data_dir / "index").iterdir()) == [
        settings.data_dir / "index" / "index.sqlite3"
    ]


def test_a_corrupt_database_is_refused(
    client: TestClient, store: FakeSnapshotStore, tmp_path: Path
) -> None:
    for generation, data in enumerate([b"not a database at all" * 100, _corrupt_db(tmp_path)], 1):
        path = tmp_path / f"bad-{generation}"
        path.write_bytes(data)
        snapshot = store.upload(path, generation, _sha(data))

        response = update(client, snapshot)

        assert response.status_code == 422, response.text
        assert "snapshot refused" in response.json()["detail"]
    assert client.get("/showcase/status").json()["generation"] is None


def test_a_database_without_the_shared_tables_is_refused(
    client: TestClient, store: FakeSnapshotStore, tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY)")
    snapshot = store.upload(path, 1, _sha(path.read_bytes()))

    response = update(client, snapshot)

    assert response.status_code == 422
    assert "lacks table" in response.json()["detail"]


def test_store_down_answers_503(
    client: TestClient, publish: Publish, store: FakeSnapshotStore
) -> None:
    snapshot = publish(1)
    store.down = True

    response = update(client, snapshot)

    assert response.status_code == 503
    assert client.get("/readyz").status_code == 503
    store.down = False
    assert update(client, snapshot).status_code == 200
    assert client.get("/readyz").json()["status"] == "ready"


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _corrupt_db(tmp_path: Path) -> bytes:
    """A real index whose b-tree pages are overwritten: the header still says SQLite."""
    from tests.support.agents import sample_rows, write_index

    path = tmp_path / "to-corrupt.sqlite3"
    write_index(path, *sample_rows())
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(1, len(data) // page_size):
        start = page * page_size
        data[start : start + 64] = b"\xff" * 64
    return bytes(data)


def test_an_object_key_that_is_not_the_generations_is_refused(
    client: TestClient, publish: Publish
) -> None:
    first = publish(1)
    mislabelled = publish(2).model_copy(update={"object_key": first.object_key})

    response = update(client, mislabelled)

    assert response.status_code == 422 and "is not generation 2" in response.json()["detail"]


def test_a_failed_phase_answers_500_naming_it_and_a_retry_applies_in_full(
    client: TestClient, publish: Publish, settings: AgentSettings
) -> None:
    snapshot = publish(1)
    blocker = settings.data_dir / "pages" / "2026"
    blocker.write_text("a file where the year's directory must go")  # the disk says no

    failed = update(client, snapshot)

    assert failed.status_code == 500
    assert failed.json()["detail"].startswith("prerender failed")
    assert client.get("/showcase/status").json()["generation"] is None
    blocker.unlink()
    retried = update(client, snapshot)
    assert retried.status_code == 200 and retried.json()["changed"] is True
    assert client.get("/showcase/2026/boston/spring/").status_code == 200


def test_a_non_finite_generation_is_422_and_changes_nothing(
    client: TestClient, publish: Publish
) -> None:
    body = publish(1).model_dump_json().replace('"generation":1', '"generation":Infinity')
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/showcase/update_config", content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "generation"]
    assert client.get("/showcase/status").json()["generation"] is None
