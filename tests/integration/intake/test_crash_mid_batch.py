"""A crash in the middle of the writer's batches loses nothing that was accepted: a real
`python -m intake` is SIGKILLed while 16 clients keep submitting (so a batch is open or being
committed at that moment), then started again over the same index.

Accepted means answered 201: each such submission has its showcase, its request, its outbox row
and its Idempotency-Key on disk; no showcase is saved without its request and outbox row (a
batch commits whole or not at all); every unanswered submission, sent again with its key, is
saved exactly once; and every request reaches the stream once. No timings are asserted."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import httpx
import nats
import pytest
from showcase_common import subjects

from tests.support.intake import IntakeProcess
from tests.support.waiting import eventually

CLIENTS = 16
KILL_AFTER = 60
"""Answers 201 before the SIGKILL."""

pytestmark = pytest.mark.timeout(240)


def _body(name: str) -> dict[str, object]:
    return {"name": name, "location_id": 1, "start_date": "2026-04-12"}


async def _submit_until_killed(intake: IntakeProcess) -> tuple[dict[str, dict], set[str]]:
    """(name → the 201's body, names sent but never answered)."""
    accepted: dict[str, dict] = {}
    unanswered: set[str] = set()
    killed = asyncio.Event()
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=intake.url, timeout=60, limits=limits) as client:

        async def one_client(number: int) -> None:
            for n in range(10_000):
                name = f"Crash {number}-{n}"
                try:
                    answer = await client.post(
                        "/api/showcases",
                        json=_body(name),
                        auth=("studio", "studio"),
                        headers={"Idempotency-Key": name},
                    )
                except httpx.TransportError:
                    unanswered.add(name)
                    return
                assert answer.status_code == 201, answer.text
                accepted[name] = answer.json()
                if len(accepted) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    await asyncio.to_thread(intake.kill)  # the other clients are mid-request

        await asyncio.gather(*(one_client(number) for number in range(CLIENTS)))
    return accepted, unanswered


def _saved(index: Path) -> dict[str, tuple[int, str | None, str | None, str | None]]:
    """name → (showcase id, its request, that request's outbox row, the key's request)."""
    with contextlib.closing(sqlite3.connect(index)) as conn:
        rows = conn.execute(
            "SELECT s.name, s.id, r.id, o.request_id, k.request_id FROM showcases s"
            " LEFT JOIN pipeline_requests r ON r.showcase_id = s.id"
            " LEFT JOIN pipeline_outbox o ON o.request_id = r.id"
            " LEFT JOIN pipeline_idempotency_keys k ON k.showcase_id = s.id"
            " WHERE s.name LIKE 'Crash %'"
        ).fetchall()
    saved: dict[str, tuple[int, str | None, str | None, str | None]] = {}
    for name, *facts in rows:
        assert name not in saved, f"{name} saved twice"
        saved[name] = tuple(facts)
    return saved


async def _in_stream(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        return (await nc.jetstream().stream_info(subjects.STREAM)).state.messages
    finally:
        await nc.close()


async def test_a_crash_mid_batch_loses_no_accepted_submission_and_no_outbox_row(
    tmp_path: Path, nats_url: str
) -> None:
    data = tmp_path / "intake"
    first = IntakeProcess(data, nats_url).start()
    try:
        accepted, unanswered = await _submit_until_killed(first)
    finally:
        first.kill()
    assert len(accepted) >= KILL_AFTER

    saved = _saved(first.index_path)
    for name, answer in accepted.items():
        showcase_id, request_id, outbox_request, key_request = saved[name]
        assert showcase_id == answer["showcase"]["id"]
        assert request_id == answer["request_id"] == outbox_request == key_request
    half_saved = {name: facts for name, facts in saved.items() if None in facts}
    assert half_saved == {}, "a showcase without its request, outbox row or key"

    second = IntakeProcess(data, nats_url).start()
    try:
        async with httpx.AsyncClient(base_url=second.url, timeout=60) as client:
            for name in sorted(unanswered):
                again = await client.post(
                    "/api/showcases",
                    json=_body(name),
                    auth=("studio", "studio"),
                    headers={"Idempotency-Key": name},
                )
                assert again.status_code == 201, again.text
        resaved = _saved(second.index_path)
        assert set(resaved) == set(accepted) | unanswered | set(saved)
        # Each request on the bus once: the outbox rows left unsent by the crash included.
        await eventually(
            lambda: _in_stream_equals(nats_url, len(resaved)), 60, "every request in the stream"
        )
    finally:
        second.stop()


async def _in_stream_equals(nats_url: str, count: int) -> bool:
    return await _in_stream(nats_url) == count
