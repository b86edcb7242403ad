"""Post/redirect/get in a real chromium: refresh, Back, double submit, the finished page and the
requests list (issue 21, items 1 and 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.progress_page import (
    PIPELINE_TIMEOUT_MS,
    Submitted,
    fill_form,
    screenshot,
    submit_form,
    wait_for_showcase_page,
)
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.browser_context(height=600)]

REQUEST_PAGE = re.compile(r".*/requests/[0-9a-f]{32}$")
_MID_RUN = (
    "() => { const v = +document.querySelector('#progress [role=progressbar]')"
    ".getAttribute('aria-valuenow'); return v > 30 && v < 100; }"
)


def _no_false_failure(page: Page) -> None:
    assert page.locator(".errors").count() == 0, "the form's errors were shown"
    assert page.locator("#progress").get_attribute("data-status") != "failed"


def test_refresh_mid_run_keeps_the_same_request_and_still_lands_on_the_showcase(
    page: Page, local_stack: LocalStack
) -> None:
    before = local_stack.showcase_count()
    with local_stack.frozen("local-3"):  # a hung machine holds the roll-out mid-run
        submitted = submit_form(page, local_stack)
        url = page.url
        assert REQUEST_PAGE.match(url)
        page.wait_for_function(_MID_RUN, timeout=PIPELINE_TIMEOUT_MS)
        page.reload()
        assert page.url == url
        page.wait_for_function(_MID_RUN, timeout=PIPELINE_TIMEOUT_MS)  # the bar, from the server
        _no_false_failure(page)
    wait_for_showcase_page(page, submitted)
    assert local_stack.showcase_count() == before + 1


def test_back_after_submit_and_back_from_the_live_page_send_nothing_again(
    page: Page, local_stack: LocalStack, tmp_path: Path
) -> None:
    before = local_stack.showcase_count()
    with local_stack.frozen("local-3"):
        submitted = submit_form(page, local_stack)
        request_url = page.url
        page.go_back()  # to the form: shown again, not sent again
        assert page.url.endswith("/showcases/new")
        page.go_forward()
        assert page.url == request_url
        _no_false_failure(page)
    wait_for_showcase_page(page, submitted)

    page.go_back()  # from the live showcase to the request's page: it shows the outcome, stays
    assert page.url == request_url
    done = page.locator("#progress .progress-done")
    done.wait_for(state="visible")
    assert submitted.page_path in (done.locator("a").get_attribute("href") or "")
    assert page.locator("#progress").get_attribute("data-redirect") != "scheduled"
    assert page.locator("h1").inner_text() == f"{submitted.name} is live"
    _no_false_failure(page)
    assert local_stack.showcase_count() == before + 1
    screenshot(page, "request-finished.png", tmp_path)


def test_the_same_form_sent_twice_lands_on_the_same_request(
    page: Page, local_stack: LocalStack
) -> None:
    before = local_stack.showcase_count()
    with local_stack.frozen("local-3"):
        submitted = fill_form(page, local_stack)
        # Both sendings of one form, as a double click or a re-sent POST makes them.
        landed = page.evaluate(
            """async () => {
                const form = document.querySelector("form.showcase-form");
                const send = () => fetch(form.action, {method: "POST", body: new FormData(form)});
                const [a, b] = await Promise.all([send(), send()]);
                return [a.url, b.url, a.status, b.status];
            }"""
        )
        assert landed[0] == landed[1] and REQUEST_PAGE.match(landed[0]), landed
        assert landed[2:] == [200, 200]
        page.click("form.showcase-form button[type=submit]")  # and once more, the ordinary way
        page.wait_for_url(landed[0])
        _no_false_failure(page)
    wait_for_showcase_page(page, submitted)
    assert local_stack.showcase_count() == before + 1


def test_my_requests_lists_the_request_with_its_state_and_link(
    page: Page, local_stack: LocalStack, tmp_path: Path
) -> None:
    submitted = submit_form(page, local_stack)
    request_url = page.url
    wait_for_showcase_page(page, submitted)
    page.goto(f"{local_stack.intake_url}/requests")
    row = page.locator("table.requests tbody tr").first
    assert submitted.name in row.inner_text()
    assert row.get_attribute("data-status") == "completed"
    row.get_by_role("link", name=submitted.name).click()
    assert page.url == request_url
    assert page.locator("#progress .progress-done").is_visible()
    page.goto(f"{local_stack.intake_url}/requests")
    screenshot(page, "requests-list.png", tmp_path)


__all__ = ["Submitted"]


def test_a_past_showcase_prefills_the_form_for_next_year(
    page: Page, local_stack: LocalStack, tmp_path: Path
) -> None:
    submitted = submit_form(page, local_stack)  # a showcase on Saturday 2027-06-12
    page.goto(f"{local_stack.intake_url}/showcases/new")
    option = page.locator("#template option", has_text=submitted.name)
    page.select_option("#template", option.get_attribute("value"))
    page.click("form.template-form button")
    assert "template=" in page.url
    assert page.input_value("#name") == submitted.name
    assert page.input_value("#start_date") == "2028-06-10"  # a Saturday again
    assert page.input_value("#key") == ""  # derived afresh from the name
    screenshot(page, "form-from-template.png", tmp_path)
