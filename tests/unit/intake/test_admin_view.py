"""The admin page's presenter (pure): requests grouped by live state, machines' words from the
shared projection, actions newest first, and the JSON the page polls."""

from __future__ import annotations

import datetime as dt

from intake.apply_diff import ApplyDiff, Event
from intake.fleet_desk import BusReading, MachineReading
from intake.models import RequestSummary
from intake.web.admin_view import UNREAD, admin_page
from showcase_common.audit import OperatorAction, RecordedAction
from showcase_common.fleet_control import PauseState
from showcase_common.fleet_status import Machine, MachineStatus
from showcase_common.progress import RequestProgress

NOW = dt.datetime(2030, 5, 16, 10, 0, tzinfo=dt.UTC)


def _request(
    request_id: str, status: str, error: str | None = None
) -> tuple[RequestSummary, RequestProgress]:
    summary = RequestSummary(
        request_id=request_id,
        user="studio",
        showcase="Spring",
        location_key="boston",
        location="Boston",
        year=2030,
        status=status,
        progress=30,
        message="Updating…",
        created_at=NOW,
        finished_at=None,
        duration_s=None,
        page_url=f"/requests/{request_id}",
        redirect_url=None,
    )
    return summary, RequestProgress(request_id=request_id, status=status, error=error)


def test_requests_machines_actions_and_pending_in_one_page() -> None:
    pause = PauseState(paused_by="alice", reason="maintenance", since=NOW)
    reading = BusReading(
        pause=pause,
        newest=4,
        actions=[
            RecordedAction(1, OperatorAction(action="dlq_retry", actor="bob", details={"seq": 9})),
            RecordedAction(2, OperatorAction(action="pause", actor="alice", reason="maintenance")),
        ],
    )
    machines = MachineReading(
        [
            MachineStatus(Machine("m1", "iad", "http://m1"), 4),
            MachineStatus(Machine("m2", "ord", "http://m2"), 3),
            MachineStatus(
                Machine("m3", "sjc", "http://m3", protocol="update_config"), None, source="updates"
            ),
        ]
    )
    pending = ApplyDiff(added=(Event(2030, "boston", "gala", "Gala"),))
    page = admin_page(
        [
            _request("a", "queued"),
            _request("b", "processing"),
            _request("c", "failed", "boom"),
            _request("d", "completed"),
        ],
        reading,
        machines,
        pending,
    )
    assert [r.summary.request_id for r in page.waiting] == ["a"]
    assert [r.summary.request_id for r in page.running] == ["b"]
    assert [(r.summary.request_id, r.error) for r in page.failed] == [("c", "boom")]
    # paused: a machine behind is waiting on purpose, not a problem
    assert [(m.id, m.state, m.problem) for m in page.machines] == [
        ("m1", "up to date", None),
        ("m2", "BEHIND", None),
        ("m3", UNREAD, None),
    ]
    assert [a.action for a in page.actions] == ["pause", "dlq retry"]  # newest first
    assert page.actions[1].details == "seq=9"
    body = page.as_json()
    assert body["paused"] and body["pause"]["paused_by"] == "alice" and not body["pinned"]
    assert body["pending"]["added"] == [
        {"year": 2030, "location": "boston", "key": "gala", "name": "Gala", "date": None}
    ]
    assert body["problems"] == []


def test_without_the_bus_the_page_says_why_and_shows_the_rest() -> None:
    page = admin_page(
        [_request("a", "queued")],
        None,
        MachineReading(error="cannot read fleet file /x: no such file"),
        ApplyDiff(),
        bus_error="NATS cannot be reached",
    )
    assert page.problems == ["NATS cannot be reached", "cannot read fleet file /x: no such file"]
    assert page.pause is None and [r.summary.request_id for r in page.waiting] == ["a"]
