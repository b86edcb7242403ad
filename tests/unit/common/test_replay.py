"""Region-aware page verdicts: 200 in the page's region, navigator's fly-replay there elsewhere."""

from __future__ import annotations

import json

from showcase_common.replay import REPLAY_CONTENT_TYPE, PageAnswer, judge, replay_region


def navigator_replay(region: str) -> bytes:
    """The body navigator writes for a region replay (internal/server/fly_replay.go)."""
    transform = {"set_headers": [{"name": "X-Navigator-Retry", "value": "true"}]}
    body = {"region": region, "timeout": "30s", "fallback": "force_self", "transform": transform}
    return json.dumps(body).encode()


def test_the_replay_body_navigator_writes_names_its_region() -> None:
    assert replay_region(307, REPLAY_CONTENT_TYPE, navigator_replay("dfw")) == "dfw"


def test_a_plain_redirect_or_another_type_is_no_replay() -> None:
    assert replay_region(307, "text/html", navigator_replay("dfw")) is None
    assert replay_region(302, REPLAY_CONTENT_TYPE, navigator_replay("dfw")) is None
    assert replay_region(307, REPLAY_CONTENT_TYPE, b"not json") is None
    assert replay_region(307, REPLAY_CONTENT_TYPE, b'{"app": "smooth-pdf"}') is None


def test_a_machine_of_the_pages_region_must_serve_it_itself() -> None:
    assert judge(PageAnswer(200), "ord", "ord").ok
    verdict = judge(PageAnswer(307, "ord"), "ord", "ord")
    assert not verdict.ok and "not 200 in its region ord" in verdict.detail


def test_any_machine_must_serve_a_page_without_region() -> None:
    assert judge(PageAnswer(200), "sjc", None).ok
    assert not judge(PageAnswer(404), "sjc", None).ok


def test_another_region_is_right_only_with_the_replay_to_the_pages_region() -> None:
    right = judge(PageAnswer(307, "ord"), "iad", "ord")
    assert right.ok and right.role == "hands_on"
    wrong = judge(PageAnswer(307, "sjc"), "iad", "ord")
    assert not wrong.ok and "fly-replay to sjc" in wrong.detail and "to ord" in wrong.detail
    missing = judge(PageAnswer(404), "iad", "ord")
    assert not missing.ok and "answered 404" in missing.detail
    # A machine elsewhere that serves every page itself (the agents' built-in pages) has it.
    assert judge(PageAnswer(200), "iad", "ord").ok
