"""Route authorization on real nats-server processes (devstack's cluster layout, as
`NATS_CLUSTER=3 make run` starts it): nodes with the route credentials form the cluster; a
nats-server without them cannot join it, however it points its routes at the nodes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from devstack.ports import free_port
from devstack.servers import ClusterNode, NatsServer, cluster_nodes

from tests.support.waiting import wait_until

ROUTE = ("route", "route-password-0123456789")


def _routes(monitor: int) -> set[str]:
    """The server names this node has routes with."""
    routez = httpx.get(f"http://127.0.0.1:{monitor}/routez", timeout=5).json()
    return {route.get("remote_name", "") for route in routez.get("routes") or []}


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[NatsServer]]:
    servers: list[NatsServer] = []
    yield servers
    for server in servers:
        server.stop()


def _start(servers: list[NatsServer], server: NatsServer, log: Path) -> NatsServer:
    servers.append(server)
    server.start(log=log.open("ab"))
    return server


def test_a_server_without_the_route_credentials_cannot_join(
    tmp_path: Path, started: list[NatsServer]
) -> None:
    routes, monitors = [free_port(), free_port()], [free_port(), free_port()]
    nodes = cluster_nodes(
        tmp_path / "cluster", routes, [None, None], monitors, route_credentials=ROUTE
    )
    for i, node in enumerate(nodes, start=1):
        _start(started, node, tmp_path / f"nats-{i}.log")
    wait_until(lambda: _routes(monitors[0]) == {"nats-2"}, 30, "the two nodes to be routed")

    # An intruder on the network points its routes at both nodes, without the credentials.
    intruder_monitor = free_port()
    intruder = NatsServer(
        tmp_path / "intruder",
        monitor_port=intruder_monitor,
        cluster=ClusterNode("showcase", "intruder", free_port(), tuple(routes)),
    )
    log = tmp_path / "intruder.log"
    _start(started, intruder, log)

    wait_until(
        lambda: "authorization violation" in log.read_text().lower(),
        30,
        "the nodes to refuse the intruder's routes",
    )
    assert _routes(intruder_monitor) == set()
    assert _routes(monitors[0]) == {"nats-2"} and _routes(monitors[1]) == {"nats-1"}

    # The same server with the credentials joins: the refusal above was about them alone.
    member_monitor = free_port()
    member = NatsServer(
        tmp_path / "member",
        monitor_port=member_monitor,
        cluster=ClusterNode("showcase", "member", free_port(), tuple(routes), ROUTE),
    )
    _start(started, member, tmp_path / "member.log")
    wait_until(lambda: "member" in _routes(monitors[0]), 30, "the member to be routed")
    assert "intruder" not in _routes(monitors[0]) | _routes(monitors[1])
