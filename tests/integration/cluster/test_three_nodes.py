"""The pipeline on a three-node NATS cluster (`NATS_CLUSTER=3 make run`): streams and buckets at
three replicas, and losing the SHOWCASE stream's leader mid-run loses no request.

The whole local stack runs on free ports with three clustered nats-servers (devstack's own
classes); the test SIGKILLs the node that leads the stream while requests are in flight, does
not restart it until every request has completed (WebSocket progress included), then restarts
it and waits until its copy of the stream equals the others'. The load is small on purpose:
JetStream clustering on two cores is slow enough already.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from showcase_common import subjects
from showcase_common.bus import connect, ensure_stream

from tests.support.progress import assert_completed_in_order, progress_until_final
from tests.support.stack import STUDIO, LocalStack, running_local_stack
from tests.support.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

BUCKETS = (subjects.REQUEST_STATE_BUCKET, subjects.SYNC_LEDGER_BUCKET, subjects.ADMIN_ALERTS_BUCKET)


@pytest.fixture(scope="module")
def cluster_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_local_stack(tmp_path_factory.mktemp("cluster"), nats_cluster=3) as running:
        yield running


@pytest.fixture
async def nc(cluster_stack: LocalStack) -> AsyncIterator[Client]:
    client = await connect(cluster_stack.stack.nats_url, "cluster-test")
    yield client
    await client.close()


def _submit(stack: LocalStack, label: str) -> dict[str, Any]:
    location = stack.owned_location("studio")
    name = f"Cluster {label} {uuid.uuid4().hex[:8]}"
    body = {"name": name, "location_id": location["id"], "start_date": "2027-09-12"}
    response = httpx.post(f"{stack.intake_url}/api/showcases", json=body, auth=STUDIO, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


async def _watch(created: dict[str, Any]) -> list[dict[str, Any]]:
    return await progress_until_final(created["progress"]["ws_url"], created["request_id"])


def _stream_state(monitor_url: str, stream: str) -> tuple[int, int] | None:
    """(messages, last sequence) of this node's own copy of `stream`, from its /jsz."""
    try:
        jsz = httpx.get(f"{monitor_url}/jsz?streams=true", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None
    for account in jsz.get("account_details") or []:
        for detail in account.get("stream_detail") or []:
            if detail.get("name") == stream:
                state = detail["state"]
                return state["messages"], state["last_seq"]
    return None


async def test_streams_and_buckets_have_three_replicas(nc: Client) -> None:
    js = nc.jetstream()
    for stream in (subjects.STREAM, subjects.DEAD_LETTER_STREAM):
        info = await js.stream_info(stream)
        assert info.config.num_replicas == 3, stream
        assert info.cluster is not None and len(info.cluster.replicas or []) == 2, info.cluster
    await eventually(  # the alerter's and the syncer's buckets exist once they have started
        lambda: _all_buckets_replicated(nc), 60, "every bucket at three replicas"
    )


async def _all_buckets_replicated(nc: Client) -> bool:
    js = nc.jetstream()
    try:
        infos = [await js.stream_info(f"KV_{bucket}") for bucket in BUCKETS]
    except Exception:
        return False
    return all(info.config.num_replicas == 3 for info in infos)


async def test_declaring_with_fewer_replicas_never_shrinks_a_stream(nc: Client) -> None:
    js = nc.jetstream()
    await ensure_stream(js, replicas=1)  # a service configured for one server, restarting
    for stream in (subjects.STREAM, subjects.DEAD_LETTER_STREAM):
        assert (await js.stream_info(stream)).config.num_replicas == 3


async def test_killing_the_stream_leader_mid_run_loses_no_request(
    cluster_stack: LocalStack, nc: Client
) -> None:
    stack = cluster_stack.stack
    js = nc.jetstream()
    info = await js.stream_info(subjects.STREAM)
    assert info.cluster is not None and info.cluster.leader in stack.nats_names, info.cluster
    leader = info.cluster.leader

    # Two requests accepted (201: on their way through the pipeline), then the leader dies
    # under them (SIGKILL, not restarted until the end), then two more arrive.
    before = [_submit(cluster_stack, f"before-{i}") for i in range(2)]
    stack.kill_process(leader)
    after = [_submit(cluster_stack, f"after-{i}") for i in range(2)]

    watched = await asyncio.wait_for(asyncio.gather(*map(_watch, before + after)), 300)
    for messages in watched:
        assert_completed_in_order(messages)
    new_leader = (await js.stream_info(subjects.STREAM)).cluster
    assert new_leader is not None and new_leader.leader not in (None, leader), new_leader

    stack.start_process(leader)  # it rejoins under its name and catches up from its peers
    monitors = dict(zip(stack.nats_names, stack.config.nats_monitor_urls, strict=True))

    def caught_up() -> bool:
        states = {name: _stream_state(url, subjects.STREAM) for name, url in monitors.items()}
        return None not in states.values() and len(set(states.values())) == 1

    await eventually(lambda: asyncio.to_thread(caught_up), 120, f"{leader} caught up")
