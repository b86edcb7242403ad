"""What a browser sees of one request: the gateway's WebSocket messages up to the final one."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import connect

FINAL = {"completed", "failed"}


async def progress_until_final(ws_url: str, request_id: str) -> list[dict[str, Any]]:
    """Every message the gateway sends for `request_id`, up to and including the final one."""
    seen: list[dict[str, Any]] = []
    async with connect(ws_url, open_timeout=10) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("request_id") != request_id:
                continue
            seen.append(message)
            if message["status"] in FINAL:
                return seen
    raise AssertionError(f"the WebSocket closed before the request finished: {seen}")


def assert_completed_in_order(messages: list[dict[str, Any]]) -> None:
    """The bar only moved forward and ended at 100 % with `completed` and a redirect."""
    progress = [m["progress"] for m in messages]
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    last = messages[-1]
    assert (last["status"], last["progress"], last["step"]) == ("completed", 100, "done"), last
    assert last["redirect_url"], last
    assert all(m["progress"] < 100 for m in messages[:-1]), progress
