"""The progress page in a real chromium against the whole local stack (issue 6, item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.progress_page import (
    PIPELINE_TIMEOUT_MS,
    ProgressRecorder,
    SocketTap,
    assert_monotonic,
    screenshot,
    submit_form,
    wait_for_showcase_page,
)
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.browser_context(height=360)]

_BLOCK_WEBSOCKETS = """
// What a proxy that refuses the upgrade looks like to the page: the socket never opens.
window.WebSocket = class BlockedWebSocket extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    setTimeout(() => {
      this.readyState = 3;
      if (this.onerror) this.onerror(new Event("error"));
      if (this.onclose) this.onclose(new CloseEvent("close", { code: 1006 }));
    }, 20);
  }
  send() { throw new Error("not open"); }
  close() {}
};
"""


def test_an_invalid_form_says_what_to_fix_keeps_the_input_and_saves_nothing(
    page: Page, local_stack: LocalStack, tmp_path: Path
) -> None:
    before = local_stack.showcase_count()
    page.goto(f"{local_stack.intake_url}/showcases/new")
    page.fill("#start_date", "2027-06-12")
    page.fill("#end_date", "2027-06-10")
    page.click("form.showcase-form button[type=submit]")

    summary = page.locator("[role=alert]").inner_text()
    assert "2 errors prohibited this showcase from being saved" in summary
    assert "Name can't be blank" in summary
    assert "End date must not be before the start date" in summary
    assert page.get_attribute("#name", "aria-invalid") == "true"
    assert page.locator("#end_date-error").is_visible()
    assert page.input_value("#start_date") == "2027-06-12"  # what was typed is kept
    assert local_stack.showcase_count() == before
    screenshot(page, "form-invalid.png", tmp_path)


def test_studio_submits_sees_every_step_and_lands_on_the_showcase(
    page: Page, local_stack: LocalStack, tmp_path: Path
) -> None:
    recorder = ProgressRecorder().attach(page)
    refused: list[str] = []  # what the Content-Security-Policy blocked, if anything
    page.on(
        "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
    )
    # the roll-out waits on a hung machine, so the bar stops mid-run however fast the rest is
    with local_stack.frozen("local-3"):
        submitted = submit_form(page, local_stack)
        bar = page.locator("#progress [role=progressbar]")
        page.wait_for_function(
            "() => { const v = +document.querySelector('#progress [role=progressbar]')"
            ".getAttribute('aria-valuenow'); return v > 30 && v < 100; }",
            timeout=PIPELINE_TIMEOUT_MS,
        )
        message = page.locator("#progress [aria-live]").inner_text()
        # a machine is live (or, canary-first, the first one is and the others follow)
        assert message.startswith(("Live in", "The first machine")), message
        assert bar.get_attribute("aria-valuemin") == "0"
        assert bar.get_attribute("aria-valuemax") == "100"
        screenshot(page, "progress-midrun.png", tmp_path)

    wait_for_showcase_page(page, submitted)
    assert_monotonic(recorder.values)
    assert recorder.shown[-1]["value"] == 100 and recorder.shown[-1]["status"] == "completed"
    assert recorder.messages[-1] == "Your showcase is live"
    assert any(m.startswith(("Live in", "The first machine")) for m in recorder.messages)
    assert all(s["value"] < 100 for s in recorder.shown if s["status"] != "completed")
    assert all(s["transport"] != "polling" for s in recorder.shown)
    assert refused == []  # the page's script, styles and socket all work under its CSP


def test_failed_machine_shows_which_and_retry_completes(
    page: Page, local_stack: LocalStack, tmp_path: Path
) -> None:
    recorder = ProgressRecorder().attach(page)
    with local_stack.stopped("local-2"):
        submitted = submit_form(page, local_stack)
        failure = page.locator("#progress .progress-failure")
        failure.wait_for(state="visible", timeout=PIPELINE_TIMEOUT_MS)
        assert "local-2" in failure.locator(".progress-failed-machines").inner_text()
        assert "local-2" in failure.locator(".progress-error").inner_text()
        assert page.locator("#progress").get_attribute("data-status") == "failed"
        screenshot(page, "progress-failed.png", tmp_path)
    # the machine is back (it caught up on boot); the studio presses Retry
    page.get_by_role("button", name="Retry").click()
    wait_for_showcase_page(page, submitted)
    assert_monotonic(recorder.values)
    assert recorder.shown[-1]["status"] == "completed"


def test_websockets_blocked_falls_back_to_polling_and_completes(
    page: Page, local_stack: LocalStack
) -> None:
    recorder = ProgressRecorder().attach(page)
    page.add_init_script(_BLOCK_WEBSOCKETS)
    submitted = submit_form(page, local_stack)
    wait_for_showcase_page(page, submitted)
    assert any(s["transport"] == "polling" for s in recorder.shown)
    assert_monotonic(recorder.values)
    assert recorder.shown[-1]["value"] == 100


def test_socket_dropped_mid_run_catches_up_and_completes(
    page: Page, local_stack: LocalStack
) -> None:
    recorder = ProgressRecorder().attach(page)
    tap = SocketTap(drop_first_after=1).attach(page)
    # a hung machine keeps the request short of completion until the first socket is gone
    with local_stack.frozen("local-3"):
        submitted = submit_form(page, local_stack)
        tap.wait_for_drop(page)
    wait_for_showcase_page(page, submitted)
    assert tap.connections >= 2, "the page did not reconnect"
    assert_monotonic(recorder.values)
    assert recorder.shown[-1]["value"] == 100
