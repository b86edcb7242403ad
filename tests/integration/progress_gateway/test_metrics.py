"""The gateway's metrics, read from its own `GET /metrics` while real sockets come and go.

The registry is process-wide (the gateway runs in the test's process), so every check is a
difference: after minus before.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from showcase_common.tokens import issue_token
from websockets.exceptions import ConnectionClosed

from tests.integration.progress_gateway.conftest import (
    SECRET,
    open_socket,
    receive,
    receive_until,
)
from tests.support.metrics import Samples, moved, parse_samples
from tests.support.waiting import eventually
from tests.unit.progress_gateway.helpers import happy_path, ref


async def scrape(gateway) -> Samples:
    async with httpx.AsyncClient(base_url=gateway.http_url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return parse_samples(response.text)


async def test_sockets_refused_open_and_closed(gateways) -> None:
    gateway = await gateways()
    before = await scrape(gateway)
    expired = issue_token(SECRET, "studio", ["r1"], ttl=dt.timedelta(seconds=-5))
    for token in (None, "not-a-token", expired):
        async with open_socket(gateway.ws_url, token) as ws:
            with pytest.raises(ConnectionClosed):
                await receive(ws)
    async with open_socket(gateway.ws_url, issue_token(SECRET, "studio", ["r1"])) as ws:
        assert (await receive(ws))["status"] == "queued"
        during = await scrape(gateway)
    assert moved(before, during, "gateway_websockets_open") == 1
    assert moved(before, during, "gateway_messages_sent_total", kind="initial") == 1
    for reason in ("missing", "invalid", "expired"):
        assert moved(before, during, "gateway_websockets_refused_total", reason=reason) == 1

    async def left() -> bool:  # the server learns of the close a moment after the client
        after = await scrape(gateway)
        return (
            moved(before, after, "gateway_websockets_open") == 0
            and moved(before, after, "gateway_websockets_closed_total", reason="client") == 1
        )

    await eventually(left, what="the closed socket counted")


async def test_a_watched_roll_out_counts_projections_and_messages(gateways, publish) -> None:
    gateway = await gateways()
    before = await scrape(gateway)
    evts = happy_path([ref("r1")])
    async with open_socket(gateway.ws_url, issue_token(SECRET, "studio", ["r1"])) as ws:
        assert (await receive(ws))["status"] == "queued"
        await publish(*evts)
        changes = await receive_until(ws, lambda m: m["status"] == "completed")

    # the events of one fetch are folded into one write per request (Projector.handle_batch):
    # one write each, or fewer when they arrive together; each write is one message
    assert 1 <= len(changes) <= len(evts)

    async def counted() -> bool:  # each is counted just after its write or send returns
        after = await scrape(gateway)
        return moved(before, after, "gateway_projections_total", outcome="written") == len(
            changes
        ) and moved(before, after, "gateway_messages_sent_total", kind="change") == len(changes)

    await eventually(counted, what="every projection and message counted")
