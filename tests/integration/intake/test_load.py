"""Intake holds load: a real `python -m intake` over real HTTP, 32 concurrent clients, 400
submissions. Every one is answered 201 and saved exactly once (no timings are asserted)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.intake import IntakeProcess

CLIENTS, SUBMISSIONS = 32, 400


@pytest.fixture
def intake_process(tmp_path: Path, nats_url: str) -> Iterator[IntakeProcess]:
    intake = IntakeProcess(tmp_path / "intake", nats_url)
    try:
        yield intake.start()
    finally:
        intake.stop()


async def _submit_all(url: str) -> Counter[int]:
    names: asyncio.Queue[str] = asyncio.Queue()
    for n in range(SUBMISSIONS):
        names.put_nowait(f"Load {n}")
    statuses: Counter[int] = Counter()
    # A generous client timeout: a guard against a hang, not a measurement.
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one_client() -> None:
            while not names.empty():
                body = {"name": names.get_nowait(), "location_id": 1, "start_date": "2026-04-12"}
                response = await client.post("/api/showcases", json=body, auth=("studio", "studio"))
                statuses[response.status_code] += 1

        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return statuses


def _saved_names(index: Path) -> Counter[str]:
    with contextlib.closing(sqlite3.connect(index)) as conn:
        rows = conn.execute("SELECT name FROM showcases WHERE name LIKE 'Load %'").fetchall()
    return Counter(name for (name,) in rows)


async def test_32_concurrent_clients_all_get_201_and_each_showcase_is_saved_once(
    intake_process: IntakeProcess,
) -> None:
    statuses = await _submit_all(intake_process.url)

    assert statuses == {201: SUBMISSIONS}
    saved = _saved_names(intake_process.index_path)
    assert set(saved) == {f"Load {n}" for n in range(SUBMISSIONS)}
    assert set(saved.values()) == {1}
    async with httpx.AsyncClient(base_url=intake_process.url) as client:
        assert (await client.get("/readyz")).json()["checks"]["db"] == "ok"
