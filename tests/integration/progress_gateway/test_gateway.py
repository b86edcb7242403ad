"""The gateway against a real nats-server: authorisation, isolation, catch-up and replicas."""

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
    wait_for_state,
)
from tests.unit.progress_gateway.helpers import happy_path, ref


def completed(request_id: str):
    return lambda m: m["request_id"] == request_id and m["status"] == "completed"


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-token",
        issue_token("some-other-secret-of-at-least-32-bytes", "studio", ["r1"]),
        issue_token(SECRET, "studio", ["r1"], ttl=dt.timedelta(seconds=-5)),
    ],
    ids=["missing", "garbage", "forged", "expired"],
)
async def test_bad_tokens_are_refused_with_4401(gateways, token) -> None:
    gateway = await gateways()
    async with open_socket(gateway.ws_url, token) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_connection_is_closed_when_its_token_expires(gateways) -> None:
    gateway = await gateways()
    # Long enough to connect on a loaded machine first; should it still expire before the
    # first message, that connection must be closed with 4401 all the same.
    token = issue_token(SECRET, "studio", ["r1"], ttl=dt.timedelta(seconds=3))
    with pytest.raises(ConnectionClosed) as closed:
        async with open_socket(gateway.ws_url, token) as ws:
            assert (await receive(ws))["request_id"] == "r1"
            await receive(ws)  # nothing more comes for r1: the next thing is the close
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_health_and_readiness(gateways) -> None:
    gateway = await gateways()
    async with httpx.AsyncClient(base_url=gateway.http_url) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"nats": "ok", "projector": "ok"}


async def test_serves_while_nats_is_down_and_closes_sockets_with_1013(
    gateways, nats_server
) -> None:
    nats_server.stop()  # NATS is down before the gateway even starts
    gateway = await gateways(live=False)
    async with httpx.AsyncClient(base_url=gateway.http_url) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not ready",
        "checks": {"nats": "unavailable", "projector": "stopped"},
    }
    async with open_socket(gateway.ws_url, issue_token(SECRET, "studio", ["r1"])) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013


async def test_a_token_never_shows_another_users_request(gateways, publish, js) -> None:
    gateway = await gateways()
    await publish(*happy_path([ref("bobs", user="bob")]))
    # bob's request is stored (as his) before the socket reads it: a request not stored yet is
    # sent as "queued" to whoever names it, since nobody is known to own it
    await wait_for_state(js, "bobs", lambda s: s["status"] == "completed")
    # a token of studio's that (wrongly) names bob's request, and one of studio's own
    token = issue_token(SECRET, "studio", ["bobs", "mine"])
    async with open_socket(gateway.ws_url, token) as ws:
        first = await receive(ws)
        assert first["request_id"] == "mine" and first["status"] == "queued"
        await publish(*happy_path([ref("mine")]))
        messages = await receive_until(ws, completed("mine"))
    assert {m["request_id"] for m in messages} == {"mine"}


async def test_two_users_and_two_tabs_are_isolated(gateways, publish) -> None:
    gateway = await gateways()
    tokens = {
        "tab1": issue_token(SECRET, "studio", ["s1"]),
        "tab2": issue_token(SECRET, "studio", ["s2"]),
        "bob": issue_token(SECRET, "bob", ["b1"]),
    }
    own = {"tab1": "s1", "tab2": "s2", "bob": "b1"}
    async with (
        open_socket(gateway.ws_url, tokens["tab1"]) as tab1,
        open_socket(gateway.ws_url, tokens["tab2"]) as tab2,
        open_socket(gateway.ws_url, tokens["bob"]) as bob,
    ):
        sockets = {"tab1": tab1, "tab2": tab2, "bob": bob}
        # one roll-out covers all three requests, then each tab is followed to its completion
        await publish(*happy_path([ref("s1"), ref("s2"), ref("b1", user="bob")]))
        for name, ws in sockets.items():
            messages = await receive_until(ws, completed(own[name]))
            assert {m["request_id"] for m in messages} == {own[name]}
            progress = [m["progress"] for m in messages]
            assert progress == sorted(progress) and progress[-1] == 100


async def test_late_join_gets_the_current_state_first(gateways, js, publish) -> None:
    gateway = await gateways()
    evts = happy_path([ref("r1")])
    await publish(*evts[:4])  # through machine 2 of 3
    await wait_for_state(js, "r1", lambda s: s["progress"] == 73)
    token = issue_token(SECRET, "studio", ["r1"])
    async with open_socket(gateway.ws_url, token) as ws:
        first = await receive(ws)
        assert (first["progress"], first["message"]) == (73, "Live in 2 of 3 regions (ams)…")
        assert first["eta_seconds"] is not None
        await publish(*evts[4:])
        rest = await receive_until(ws, completed("r1"))
    assert [m["progress"] for m in rest] == [95, 100]
    assert rest[-1]["redirect_url"] == "http://fleet/showcase/2026/boston/spring/"


async def test_reconnect_gets_the_current_state_then_every_change(gateways, js, publish) -> None:
    gateway = await gateways()
    evts = happy_path([ref("r1")])
    token = issue_token(SECRET, "studio", ["r1"])
    async with open_socket(gateway.ws_url, token) as ws:
        await publish(*evts[:2])
        await receive_until(ws, lambda m: m["progress"] == 30)
    # while the browser is away, two machines finish and the roll-out completes
    await publish(*evts[2:])
    await wait_for_state(js, "r1", lambda s: s["status"] == "completed")
    async with open_socket(gateway.ws_url, token) as ws:
        first = await receive(ws)
    assert (first["status"], first["progress"]) == ("completed", 100)


async def test_failure_is_sent_with_detail_and_retry_url(gateways, publish) -> None:
    from tests.unit.progress_gateway.helpers import fleet_failed

    gateway = await gateways()
    token = issue_token(SECRET, "studio", ["r1"])
    async with open_socket(gateway.ws_url, token) as ws:
        await publish(*happy_path([ref("r1")])[:4], fleet_failed([ref("r1")]))
        messages = await receive_until(ws, lambda m: m["status"] == "failed")
    failed = messages[-1]
    assert failed["retry_url"] == "http://intake/api/requests/r1/retry"
    assert "iad (m2)" in failed["error"] and failed["failed_machines"] == ["m2"]
    assert set(failed) >= {
        "request_id",
        "status",
        "progress",
        "step",
        "message",
        "redirect_url",
        "error",
        "retry_url",
    }


async def test_two_replicas_on_one_bus_both_deliver(gateways, publish) -> None:
    first, second = await gateways(), await gateways()
    refs = [ref(f"r{i}") for i in range(8)]
    token = issue_token(SECRET, "studio", [r.request_id for r in refs])
    async with open_socket(first.ws_url, token) as a, open_socket(second.ws_url, token) as b:
        await publish(*happy_path(refs))
        for ws in (a, b):
            seen: set[str] = set()

            def all_done(m, seen=seen) -> bool:
                if m["status"] == "completed":
                    seen.add(m["request_id"])
                return len(seen) == len(refs)

            messages = await receive_until(ws, all_done)
            for r in refs:
                progress = [m["progress"] for m in messages if m["request_id"] == r.request_id]
                assert progress == sorted(progress) and progress[-1] == 100


async def test_a_broker_restart_loses_no_change(gateways, nats_server, publish) -> None:
    """NATS restarts mid-run: the projector and the feed resume and the browser still completes."""
    gateway = await gateways()
    evts = happy_path([ref("r1")])
    token = issue_token(SECRET, "studio", ["r1"])
    async with open_socket(gateway.ws_url, token) as ws:
        await publish(*evts[:2])
        await receive_until(ws, lambda m: m["progress"] == 30)
        nats_server.restart()
        await publish(*evts[2:])  # the publisher's client reconnects on its own
        messages = await receive_until(ws, completed("r1"), timeout_s=60)
    assert [m["progress"] for m in messages][-1] == 100


async def test_answers_cannot_be_framed_or_sniffed(gateways) -> None:
    gateway = await gateways()
    async with httpx.AsyncClient(base_url=gateway.http_url) as http:
        headers = (await http.get("/healthz")).headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
