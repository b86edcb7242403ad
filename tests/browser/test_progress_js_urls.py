"""progress.js follows only http(s) URLs on its allowed origins (no stack: routed pages).

The page is served by Playwright's router on a made-up origin with the real progress.js; a fake
WebSocket hands it the gateway's message, so whatever `redirect_url` that message carries is
what the script has to judge.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Route

pytestmark = [pytest.mark.browser, pytest.mark.browser_context(login=None)]

SCRIPT = Path(__file__).parents[2] / "services/intake/src/intake/static/progress.js"
INTAKE = "http://intake.test"
FLEET = "http://fleet.test"
PAGE = f"""<!doctype html><html><head><script src="/static/progress.js" defer></script></head>
<body><div id="progress" data-request-id="r1" data-progress-url="ws://gateway.test/ws"
 data-status-url="{INTAKE}/api/requests/r1" data-redirect-url="REDIRECT"
 data-allowed-origins="{FLEET}">
<div role="progressbar" aria-valuenow="0"><div class="progress-fill"></div></div>
<p aria-live="polite">Saving your request…</p></div></body></html>"""

# A WebSocket that opens and sends one completed message carrying window.__redirect.
FAKE_SOCKET = """
window.WebSocket = class extends EventTarget {
  constructor(url) {
    super();
    setTimeout(() => {
      if (this.onopen) this.onopen(new Event("open"));
      const state = {request_id: "r1", status: "completed", progress: 100, step: "done",
                     message: "Your showcase is live", redirect_url: window.__redirect};
      if (this.onmessage) this.onmessage({data: JSON.stringify(state)});
    }, 10);
  }
  close() {}
};
"""


@pytest.fixture
def page(page: Page) -> Page:
    """The conftest's page (no login), its requests answered by the router."""

    def intake(route: Route) -> None:
        if route.request.url.endswith("/static/progress.js"):
            route.fulfill(body=SCRIPT.read_text(), content_type="text/javascript")
        else:
            redirect = route.request.url.rsplit("redirect=", 1)[-1]
            route.fulfill(body=PAGE.replace("REDIRECT", redirect), content_type="text/html")

    page.route(f"{INTAKE}/**", intake)
    page.route(f"{FLEET}/**", lambda route: route.fulfill(body="<p>the showcase</p>"))
    page.route("**/evil.test/**", lambda route: route.fulfill(body="<p>evil</p>"))
    return page


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{FLEET}/showcase/2026/boston/spring/", f"{FLEET}/showcase/2026/boston/spring/"),
        (f"{INTAKE}/requests", f"{INTAKE}/requests"),  # the page's own origin
        ("javascript:alert(1)", None),
        ("JAVASCRIPT:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("https://fleet.test/", None),  # another scheme: another origin
        ("http://evil.test/", None),
        ("http://fleet.test@evil.test/", None),
        ("//evil.test/", None),
        (None, None),
    ],
)
def test_allowed_url(page: Page, url: str | None, expected: str | None) -> None:
    page.goto(f"{INTAKE}/requests/r1?redirect=")
    check = "([u, o]) => window.ShowcaseProgress.allowedUrl(u, o)"
    assert page.evaluate(check, [url, [FLEET, INTAKE]]) == expected


def test_a_javascript_redirect_is_not_followed(page: Page) -> None:
    page.add_init_script(FAKE_SOCKET + "window.__redirect = 'javascript:document.title=\"pwned\"';")
    page.goto(f"{INTAKE}/requests/r1?redirect=")  # and no fallback redirect either
    refused = page.locator("#progress[data-redirect=refused]")
    refused.wait_for(state="attached")  # completed, and no redirect was scheduled
    assert page.url.startswith(f"{INTAKE}/requests/r1") and page.title() != "pwned"


def test_an_off_site_redirect_falls_back_to_the_pages_own(page: Page) -> None:
    page.add_init_script(FAKE_SOCKET + "window.__redirect = 'http://evil.test/phish';")
    with page.expect_navigation(url=f"{FLEET}/showcase/x/"):
        page.goto(f"{INTAKE}/requests/r1?redirect={FLEET}/showcase/x/")


def test_an_allowed_redirect_is_followed(page: Page) -> None:
    page.add_init_script(FAKE_SOCKET + f"window.__redirect = '{FLEET}/showcase/2026/b/s/';")
    page.goto(f"{INTAKE}/requests/r1?redirect=")
    page.wait_for_url(f"{FLEET}/showcase/2026/b/s/")
