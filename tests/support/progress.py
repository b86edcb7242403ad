"""What a browser sees of one request: the gateway's WebSocket messages up to the final one."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

FINAL = {"completed", "failed"}
TRY_AGAIN_LATER = 1013
"""The gateway's close code while its store is unavailable (a NATS node lost, a new leader
being elected): progress.js reconnects after a backoff, and so does this."""


async def progress_until_final(
    ws_url: str, request_id: str, *, reconnects: int = 30
) -> list[dict[str, Any]]:
    """Every message the gateway sends for `request_id`, up to and including the final one,
    reconnecting as the browser does when the gateway says "try again later" (it sends the
    current state first on every connection, so nothing is missed)."""
    seen: list[dict[str, Any]] = []
    for _ in range(reconnects + 1):
        try:
            if await _follow(ws_url, request_id, seen):
                return seen
            raise AssertionError(f"the WebSocket closed before the request finished: {seen}")
        except ConnectionClosedError as exc:
            if exc.rcvd is None or exc.rcvd.code != TRY_AGAIN_LATER:
                raise
        await asyncio.sleep(0.5)  # progress.js's first backoff
    raise AssertionError(f"the gateway said 'try again later' {reconnects} times: {seen}")


async def _follow(ws_url: str, request_id: str, seen: list[dict[str, Any]]) -> bool:
    """Append this connection's messages for the request to `seen`; True once one is final."""
    async with connect(ws_url, open_timeout=10) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("request_id") != request_id:
                continue
            seen.append(message)
            if message["status"] in FINAL:
                return True
    return False


def assert_completed_in_order(messages: list[dict[str, Any]]) -> None:
    """The bar only moved forward and ended at 100 % with `completed` and a redirect."""
    progress = [m["progress"] for m in messages]
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    last = messages[-1]
    assert (last["status"], last["progress"], last["step"]) == ("completed", 100, "done"), last
    assert last["redirect_url"], last
    assert all(m["progress"] < 100 for m in messages[:-1]), progress
