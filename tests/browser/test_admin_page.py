"""The admin page in a real chromium against the whole local stack: it shows the fleet, the
requests and what Apply would change; it updates by itself when `showcasectl pause` runs in a
shell; axe-core finds nothing serious; Resume and Apply work from the page; and the screenshot
in docs/admin-page.png is taken from it (issue 19, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.progress_page import PIPELINE_TIMEOUT_MS, screenshot
from tests.browser.test_studio_pages import AXE, _axe
from tests.support.stack import ADMIN, STUDIO, LocalStack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.browser_context(width=1100, height=900, login=ADMIN, bypass_csp=True),
]


def showcasectl(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's command, run as an operator would run it against this stack."""
    env = {**os.environ, "NATS_URL": stack.stack.nats_url}
    return subprocess.run(
        [sys.executable, "-m", "showcasectl", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def resumed_after(local_stack: LocalStack) -> Iterator[None]:
    """The stack is shared with the other browser tests: never leave it paused."""
    yield
    showcasectl(local_stack, "resume", "--as", "tests", "--reason", "test over")


def _studio_request(stack: LocalStack, name: str, start: str) -> str:
    location = stack.owned_location("studio")
    body = {"name": name, "location_id": location["id"], "start_date": start}
    with stack.studio_client() as client:
        response = client.post("/api/showcases", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["request_id"])


def _wait_completed(stack: LocalStack, request_id: str, login: tuple[str, str] = STUDIO) -> None:
    with httpx.Client(base_url=stack.intake_url, auth=login, timeout=30) as client:
        for _ in range(PIPELINE_TIMEOUT_MS // 250):
            state = client.get(f"/api/requests/{request_id}").json()
            if state["status"] in ("completed", "failed"):
                assert state["status"] == "completed", state
                return
            time.sleep(0.25)  # another process's state: nothing to await
    raise AssertionError(f"request {request_id} did not finish")


def _admin_showcase(stack: LocalStack, name: str) -> None:
    location = stack.owned_location("studio")
    body = {"name": name, "location_id": location["id"], "start_date": "2027-11-20"}
    with httpx.Client(base_url=stack.intake_url, auth=ADMIN, timeout=30) as client:
        response = client.post("/api/showcases", json=body)
    assert response.status_code == 201 and response.json()["request_id"] is None


def test_the_admin_page_follows_the_fleet_live_and_applies_an_admins_showcase(
    page: Page, local_stack: LocalStack, tmp_path: Path, resumed_after: None
) -> None:
    tag = uuid.uuid4().hex[:6]
    # Realistic data: a studio's requests gone live (the fleet has a generation, the deployed
    # state is recorded), then an admin's showcase, which runs no automation.
    done = _studio_request(local_stack, f"Spring Showcase {tag}", "2027-05-16")
    _wait_completed(local_stack, done)
    gala = f"Winter Gala {tag}"
    _admin_showcase(local_stack, gala)

    # an earlier hold, lifted: the audit trail has a history
    for action, reason in (("pause", "css deploy on ord"), ("resume", "css fixed")):
        done_by_bob = showcasectl(local_stack, action, "--as", "bob", "--reason", reason)
        assert done_by_bob.returncode == 0, done_by_bob.stderr

    page.goto(f"{local_stack.intake_url}/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roll-outs")
    expect(page.locator("[data-live=fleet]")).to_contain_text("Roll-outs are running")
    for machine in ("local-1", "local-2", "local-3"):
        expect(page.locator(f'tr[data-machine="{machine}"]')).to_contain_text("up to date")
    pending = page.locator("[data-live=pending]")
    expect(pending.get_by_role("heading", name="Events added")).to_be_visible()
    expect(pending).to_contain_text(gala)
    expect(pending.get_by_role("button", name="Apply: roll these out now")).to_be_visible()

    # An operator pauses from a shell: the page shows it without a reload, and says it.
    paused = showcasectl(
        local_stack, "pause", "--as", "alice", "--reason", "prerender broken on iad"
    )
    assert paused.returncode == 0, paused.stderr
    fleet = page.locator("[data-live=fleet]")
    expect(fleet).to_contain_text("Roll-outs are paused", timeout=PIPELINE_TIMEOUT_MS)
    expect(fleet).to_contain_text("prerender broken on iad")
    expect(page.locator("#admin-live")).to_have_text("Roll-outs are now paused.")
    expect(page.locator("[data-live=actions] tbody tr").first).to_contain_text("alice")

    # A studio asks meanwhile: its request waits, visibly.
    waiting = _studio_request(local_stack, f"Summer Social {tag}", "2027-07-04")
    expect(page.locator(f'#requests-waiting ~ div tr[data-request-id="{waiting}"]')).to_be_visible(
        timeout=PIPELINE_TIMEOUT_MS
    )

    if AXE.exists():
        assert [v["id"] for v in _axe(page)] == []
    screenshot(page, "admin-page.png", tmp_path)

    # Apply while paused: a tracked roll-out, with its progress page (it waits for Resume).
    page.get_by_role("button", name="Apply: roll these out now").click()
    page.wait_for_url("**/requests/*")
    applied = page.url.rsplit("/", 1)[-1]
    expect(page.locator("#progress")).to_have_attribute("data-request-id", applied)

    # Resume from the page, keyboard only: the reason, then the button.
    page.goto(f"{local_stack.intake_url}/admin")
    page.locator("#control-reason").fill("fixed the template")
    page.locator("#control-reason").press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_contain_text("Resumed")
    expect(fleet).to_contain_text("Roll-outs are running")
    _wait_completed(local_stack, waiting)
    _wait_completed(local_stack, applied, ADMIN)

    page.reload()
    expect(page.locator("[data-live=pending]")).not_to_contain_text(gala)
    actions = page.locator("[data-live=actions] tbody tr")
    expect(actions.nth(0)).to_contain_text("resume")
    expect(actions.nth(1)).to_contain_text("apply")
    for row in (actions.nth(0), actions.nth(1)):
        expect(row).to_contain_text("admin")
