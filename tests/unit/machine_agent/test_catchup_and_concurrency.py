"""Boot catch-up, the served generation across restarts, one update at a time, the deadline."""

from __future__ import annotations

import asyncio
import threading

import httpx
from fastapi.testclient import TestClient
from machine_agent.config import AgentSettings

from tests.support.fakes import FakeSnapshotStore
from tests.support.ports import FakeAgentPorts
from tests.support.waiting import wait_until
from tests.unit.machine_agent.conftest import AUTH, Publish, in_process, update


def _generation(client: TestClient) -> int | None:
    return client.get("/showcase/status").json()["generation"]


def test_boot_applies_the_newest_snapshot(
    settings: AgentSettings, store: FakeSnapshotStore, publish: Publish
) -> None:
    publish(1)
    publish(2)

    with TestClient(in_process(settings, FakeAgentPorts(store=store))) as client:
        wait_until(lambda: _generation(client) == 2, 10, "catch-up to generation 2")
        assert client.get("/showcase/2026/boston/spring/").status_code == 200
    assert store.downloads == [2]


def test_boot_with_the_store_down_serves_what_it_has_and_retries(
    settings: AgentSettings, store: FakeSnapshotStore, publish: Publish
) -> None:
    with TestClient(in_process(settings, FakeAgentPorts(store=store), catch_up=False)) as client:
        update(client, publish(1))
    publish(2)
    store.down = True

    with TestClient(in_process(settings, FakeAgentPorts(store=store))) as client:
        assert _generation(client) == 1  # the generation persisted before the restart
        wait_until(
            lambda: client.get("/readyz").json()["catch_up"].startswith("retrying"),
            10,
            "a failed catch-up attempt",
        )
        assert client.get("/showcase/2026/boston/spring/").status_code == 200
        store.down = False
        wait_until(lambda: _generation(client) == 2, 10, "catch-up once the store is back")


def test_a_download_cut_by_a_crash_is_cleaned_up_at_start(settings: AgentSettings) -> None:
    leftover = settings.data_dir / "index" / ".incoming-7-abc"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a database")

    app = in_process(settings, FakeAgentPorts(), catch_up=False)
    assert leftover.exists()  # building the agent touches no file
    with TestClient(app):  # its start-up does
        assert not leftover.exists()


def test_boot_with_nothing_newer_downloads_nothing(
    settings: AgentSettings, store: FakeSnapshotStore, publish: Publish
) -> None:
    with TestClient(in_process(settings, FakeAgentPorts(store=store), catch_up=False)) as client:
        update(client, publish(1))

    with TestClient(in_process(settings, FakeAgentPorts(store=store))) as client:
        wait_until(lambda: client.get("/readyz").json()["catch_up"] == "done", 10, "catch-up")
        assert _generation(client) == 1
    assert store.downloads == [1]


async def test_concurrent_updates_are_serialised(
    settings: AgentSettings, store: FakeSnapshotStore, publish: Publish
) -> None:
    snapshot = publish(1)
    app = in_process(settings, FakeAgentPorts(store=store), catch_up=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),  # the agent's start-up
        httpx.AsyncClient(transport=transport, base_url="http://agent") as client,
    ):
        body = snapshot.model_dump()
        responses = await asyncio.gather(
            *(client.post("/showcase/update_config", json=body, headers=AUTH) for _ in range(3))
        )

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert sorted(r.json()["changed"] for r in responses) == [False, False, True]
    assert store.downloads == [1]


async def test_an_update_past_its_deadline_answers_504_and_goes_on(
    settings: AgentSettings, store: FakeSnapshotStore, publish: Publish
) -> None:
    snapshot = publish(1)
    store.gate = threading.Event()
    app = in_process(
        settings.model_copy(update={"agent_update_timeout_s": 0.1}),
        FakeAgentPorts(store=store),
        catch_up=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),  # the agent's start-up
        httpx.AsyncClient(transport=transport, base_url="http://agent") as client,
    ):
        body = snapshot.model_dump()
        slow = await client.post("/showcase/update_config", json=body, headers=AUTH)
        app.state.route_deps.settings = settings  # the retry may wait as long as it needs
        store.gate.set()  # the store answers: the first update finishes, then the retry runs
        retry = await client.post("/showcase/update_config", json=body, headers=AUTH)

    assert slow.status_code == 504 and "goes on" in slow.json()["detail"]
    assert retry.status_code == 200 and retry.json()["changed"] is False
    assert store.downloads == [1]
