"""Group commit: the writer takes every queued submission into one transaction, a savepoint
each. A refused or failing submission is undone alone and its batch-mates commit; replays of
one Idempotency-Key inside one batch make one showcase. The writer is held by a call blocked on
an Event while the submissions queue up, so each batch is made by events, not by timing."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
from intake.db_lanes import Database
from intake.group_commit import Transaction
from intake.index_db import make_engine
from intake.route_deps import RouteDeps

from tests.unit.intake.conftest import STUDIO, held_writer


async def queued(db: Database, count: int) -> None:
    """Until `count` pieces of work besides the holder wait for the writer (each request needs
    a few turns of the loop to get there)."""
    for _ in range(10_000):
        if db.writes.pending >= 1 + count:
            return
        await asyncio.sleep(0)  # a turn of the loop for the requests, not a wait
    raise AssertionError(f"only {db.writes.pending - 1} of {count} queued")


def _rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql).fetchall()


async def test_a_failing_step_is_undone_alone_and_its_batch_mates_commit(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE t (name TEXT UNIQUE)")
        conn.commit()
    db = Database(make_engine(path))

    def insert(tx: Transaction, name: str, fail: bool) -> str:
        tx.conn.execute("INSERT INTO t (name) VALUES (?)", (name,))  # written, then undone
        if fail:
            raise ValueError(name)
        return name

    try:
        async with held_writer(db):
            batches = db.writes.batches
            steps = [
                asyncio.create_task(db.step(insert, "a", False)),
                asyncio.create_task(db.step(insert, "b", True)),
                asyncio.create_task(db.step(insert, "a", False)),  # a constraint: UNIQUE
                asyncio.create_task(db.step(insert, "c", False)),
            ]
            await queued(db, len(steps))
        outcomes = await asyncio.gather(*steps, return_exceptions=True)
    finally:
        db.close()
    assert outcomes[0] == "a" and outcomes[3] == "c"
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert db.writes.batches == batches + 1  # one transaction for the four
    assert sorted(_rows(path, "SELECT name FROM t")) == [("a",), ("c",)]


async def test_a_batch_with_a_duplicate_and_an_unknown_location_commits_the_others(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    db = deps.db
    bodies = {
        "first": {"name": "Spring Gala", "location_id": 1},
        "duplicate": {"name": "Spring Gala", "location_id": 1},
        "nowhere": {"name": "Lost Gala", "location_id": 999},
        "second": {"name": "Autumn Gala", "location_id": 1},
    }
    async with held_writer(db):
        batches = db.writes.batches
        posts = {
            label: asyncio.create_task(client.post("/api/showcases", json=body, auth=STUDIO))
            for label, body in bodies.items()
        }
        await queued(db, len(posts))
    answers = {label: await post for label, post in posts.items()}

    assert db.writes.batches == batches + 1
    assert {label: a.status_code for label, a in answers.items()} == {
        "first": 201,
        "duplicate": 422,
        "nowhere": 422,
        "second": 201,
    }
    assert answers["duplicate"].json()["detail"][0]["type"] == "taken"
    assert answers["nowhere"].json()["detail"][0]["type"] == "unknown_location"
    path = deps.settings.index_db_path
    saved = _rows(
        path,
        "SELECT s.name, r.id, o.request_id FROM showcases s"
        " JOIN pipeline_requests r ON r.showcase_id = s.id"
        " JOIN pipeline_outbox o ON o.request_id = r.id"
        " WHERE s.name LIKE '% Gala' ORDER BY s.id",
    )
    assert [name for name, _, _ in saved] == ["Spring Gala", "Autumn Gala"]
    assert [request for _, request, _ in saved] == [
        answers["first"].json()["request_id"],
        answers["second"].json()["request_id"],
    ]
    assert _rows(path, "SELECT count(*) FROM showcases WHERE name = 'Lost Gala'") == [(0,)]


async def test_replays_of_one_key_inside_one_batch_make_one_showcase(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    db = deps.db
    body = {"name": "Winter Recital", "location_id": 1}
    headers = {"Idempotency-Key": "recital-1"}
    async with held_writer(db):
        batches = db.writes.batches
        posts = [
            asyncio.create_task(
                client.post("/api/showcases", json=body, auth=STUDIO, headers=headers)
            )
            for _ in range(3)
        ]
        await queued(db, len(posts))
    answers = [await post for post in posts]

    assert db.writes.batches == batches + 1
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["showcase"]["id"] for a in answers}) == 1
    assert len({a.json()["request_id"] for a in answers}) == 1
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == [
        "",
        "true",
        "true",
    ]
    path = deps.settings.index_db_path
    assert _rows(path, "SELECT count(*) FROM showcases WHERE name = 'Winter Recital'") == [(1,)]
    assert _rows(path, "SELECT count(*) FROM pipeline_outbox") == [(1,)]


async def test_a_key_reused_with_another_body_inside_one_batch_is_refused_alone(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    db = deps.db
    headers = {"Idempotency-Key": "k"}
    async with held_writer(db):
        first = asyncio.create_task(
            client.post(
                "/api/showcases",
                json={"name": "Gala", "location_id": 1},
                auth=STUDIO,
                headers=headers,
            )
        )
        await queued(db, 1)
        other = asyncio.create_task(
            client.post(
                "/api/showcases",
                json={"name": "Other", "location_id": 1},
                auth=STUDIO,
                headers=headers,
            )
        )
        await queued(db, 2)
    assert (await first).status_code == 201
    refused = await other
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    path = deps.settings.index_db_path
    assert _rows(path, "SELECT name FROM showcases WHERE name IN ('Gala', 'Other')") == [("Gala",)]
