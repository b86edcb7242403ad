"""`showcasectl pause`, `resume` and `audit` against a real nats-server: idempotent, refusing what
they cannot do, shown by `status`, and each change recorded with its actor and reason."""

from __future__ import annotations

from tests.integration.showcasectl.conftest import Ctl


async def test_pause_resume_are_idempotent_refuse_clearly_and_are_audited(js, ctl: Ctl) -> None:
    paused = await ctl.json("pause", "--reason", "prerender broken", "--as", "alice")
    assert paused["changed"] is True and paused["paused"] is True
    assert paused["pause"]["paused_by"] == "alice"
    assert paused["pause"]["reason"] == "prerender broken"

    again = await ctl.json("pause", "--as", "bob")
    assert again["changed"] is False and again["pause"]["paused_by"] == "alice"
    assert "already paused" in again["message"]

    status = await ctl.json("status", exit_code=1)  # the fleet file is missing: a problem
    assert status["paused"] is True and status["pause"]["reason"] == "prerender broken"
    text = await ctl("status")
    assert "Roll-outs PAUSED by alice" in text.stdout

    resumed = await ctl.json("resume", "--as", "carol", "--reason", "fixed")
    assert resumed["changed"] is True and resumed["paused"] is False
    refused = await ctl("resume", "--as", "carol")
    assert refused.exit_code == 1
    assert "not paused: there is nothing to resume" in refused.output
    assert (await ctl.json("resume", exit_code=1))["ok"] is False

    trail = await ctl.json("audit")
    assert [(a["action"], a["actor"], a["reason"]) for a in trail] == [
        ("pause", "alice", "prerender broken"),
        ("resume", "carol", "fixed"),
    ]
    assert trail[1]["details"]["paused_by"] == "alice"
    assert all(a["via"] == "showcasectl" for a in trail)
    assert await ctl.json("audit", "--since", "2999-01-01") == []
    assert [a["action"] for a in await ctl.json("audit", "--last", "1")] == ["resume"]


async def test_audit_with_nothing_recorded_is_an_empty_list(js, ctl: Ctl) -> None:
    assert await ctl.json("audit") == []
    bad = await ctl("audit", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "neither a time" in bad.output


async def test_the_audit_stream_keeps_actions_a_year(js, ctl: Ctl) -> None:
    await ctl.json("pause", "--as", "alice")
    info = await js.stream_info("SHOWCASE_AUDIT")
    assert info.config.max_age == 365 * 24 * 3600
    assert info.config.subjects == ["showcase_audit.>"]
