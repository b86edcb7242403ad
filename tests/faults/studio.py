"""What a studio (and an operator's eye) sees of the local stack: submit, poll, check the fleet.

Only the contract's surfaces: `POST /api/showcases` as studio/studio, the status URL, the retry
URL, the agents' pages and `GET {agent}/showcase/status`, intake's events page.
"""

from __future__ import annotations

import html
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.support.stack import STUDIO, LocalStack

T = TypeVar("T")
State = dict[str, Any]
FINAL = {"completed", "failed"}


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll `check` until it returns something truthy; a safety net, not a speed assertion."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:  # a service restarting answers nothing for a moment
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout_s:.0f}s (last seen: {last!r})")


def submit(stack: LocalStack, label: str) -> State:
    """A new showcase for the studio's own location; the 201 body plus that location."""
    location = stack.owned_location("studio")
    name = f"Fault {label} {uuid.uuid4().hex[:8]}"
    body = {"name": name, "location_id": location["id"], "start_date": "2027-06-12"}
    response = httpx.post(f"{stack.intake_url}/api/showcases", json=body, auth=STUDIO, timeout=30)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["request_id"], created
    return created | {"name": name, "location": location}


def status(created: State) -> State:
    response = httpx.get(created["status_url"], auth=STUDIO, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


class Watch:
    """A studio polling its request's status URL; keeps every state it saw."""

    def __init__(self, created: State) -> None:
        self.created = created
        self.seen: list[State] = []

    def poll(self) -> State:
        state = status(self.created)
        self.seen.append(state)
        return state

    def until(self, wanted: Callable[[State], bool], what: str, timeout_s: float = 90) -> State:
        def check() -> State | None:
            state = self.poll()
            return state if wanted(state) else None

        return wait_for(check, timeout_s, what)

    def final(self, timeout_s: float = 90) -> State:
        return self.until(lambda s: s["status"] in FINAL, "a final status", timeout_s)

    def assert_progress_never_decreased(self) -> None:
        progress = [s["progress"] for s in self.seen]
        assert progress == sorted(progress), f"progress went backwards: {progress}"
        assert all(s["progress"] < 100 for s in self.seen if s["status"] != "completed")


def assert_completed(state: State, created: State) -> None:
    assert state["status"] == "completed", state
    assert state["progress"] == 100, state
    assert state["step"] == "done", state
    assert state["redirect_url"] == created["redirect_url"], state


def page_path(created: State) -> str:
    showcase = created["showcase"]
    return f"/showcase/{showcase['year']}/{created['location']['key']}/{showcase['key']}/"


def assert_served_everywhere(stack: LocalStack, created: State) -> None:
    """Every agent serves the showcase's page, naming it."""
    for agent_id, url in stack.agent_urls.items():
        page = httpx.get(url + page_path(created), timeout=10)
        assert page.status_code == 200, f"{agent_id}: {page.status_code}"
        assert html.escape(created["name"]) in page.text, f"{agent_id} does not name it"


def generations(stack: LocalStack) -> dict[str, int]:
    """Each agent's generation, from `GET {agent}/showcase/status`."""
    return {
        agent_id: httpx.get(f"{url}/showcase/status", timeout=10).json()["generation"] or 0
        for agent_id, url in stack.agent_urls.items()
    }


def times_listed(stack: LocalStack, created: State) -> int:
    """How many rows of the location's events page name the showcase."""
    key = created["location"]["key"]
    page = httpx.get(f"{stack.intake_url}/locations/{key}/events", auth=STUDIO, timeout=10)
    assert page.status_code == 200, page.text
    # The name's cell, whatever attributes the table gives it (data-label for narrow screens).
    return page.text.count(f">{html.escape(created['name'])}</td>")


def ensure_running(stack: LocalStack, *names: str) -> None:
    """Start again whatever a failed test left stopped (a no-op for a running process)."""
    for name in names:
        if not stack.stack.process(name).running():
            stack.start_process(name)
