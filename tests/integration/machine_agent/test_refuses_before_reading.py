"""A real agent process answers an unauthenticated or oversized update from its headers alone:
the test sends only the request head (announcing 64 MiB) and gets the answer without sending a
byte of the body. A client that sends no request at all is disconnected (header timeout)."""

from __future__ import annotations

from tests.support.agents import DEFAULT_SECRET, AgentFleet
from tests.support.raw_http import answer_to_head, closed_without_a_request

UPDATE = "/showcase/update_config"
HUGE = {"Content-Type": "application/json", "Content-Length": str(64 * 2**20)}


def test_a_64_mib_update_is_refused_before_its_body_is_sent(agent_fleet: AgentFleet) -> None:
    agent = agent_fleet.start("m1", "ord")
    for auth in ({}, {"Authorization": "Bearer wrong"}):
        response = answer_to_head("127.0.0.1", agent.port, "POST", UPDATE, HUGE | auth)
        assert response.status_code == 401  # the secret first: nothing about the body is said
    secret = {"Authorization": f"Bearer {DEFAULT_SECRET}"}
    response = answer_to_head("127.0.0.1", agent.port, "POST", UPDATE, HUGE | secret)
    assert response.status_code == 413  # even with the secret: the body is small JSON
    assert agent.status()["generation"] is None


def test_a_connection_that_sends_no_request_is_closed(agent_fleet: AgentFleet) -> None:
    agent = agent_fleet.start("m1", "ord", env={"HTTP_HEADER_TIMEOUT_S": "0.5"})
    assert closed_without_a_request("127.0.0.1", agent.port)
