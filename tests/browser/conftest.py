"""Browser tests: chromium (tests/support/browser.py) against the whole local stack.

Every test gets its own browser context (`context`, and `page` in it): logged in as `studio`,
760×640 px, the pages' CSP enforced. A test or module that needs another one says so with the
`browser_context` marker, whose keywords are `ContextOptions`' fields; markers nearer the test
win, field by field:

    pytestmark = [pytest.mark.browser, pytest.mark.browser_context(height=360)]

    @pytest.mark.browser_context(width=320, login=ADMIN)
    def test_...(page: Page) -> None: ...
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.browser import browser_type_launch_args, chromium
from tests.support.stack import STUDIO

__all__ = ["browser_type_launch_args", "chromium", "context", "page"]

TIMEOUT_MS = 30_000
"""Every wait of a browser test (the stack answers slowly on a busy 2-core host)."""


@dataclass(frozen=True)
class ContextOptions:
    """What a test's browser context is: its viewport, its HTTP Basic login (None: none), and
    whether the pages' CSP is bypassed (axe-core is injected as a script, which the pages'
    `script-src 'self'` would refuse)."""

    width: int = 760
    height: int = 640
    login: tuple[str, str] | None = STUDIO
    bypass_csp: bool = False


def context_options(node: pytest.Item) -> ContextOptions:
    """The `browser_context` markers of a test, the module's first, the test's own last."""
    fields: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("browser_context"))):
        fields |= marker.kwargs
    return ContextOptions(**fields)


def open_context(chromium: Browser, options: ContextOptions) -> BrowserContext:
    login = options.login
    context = chromium.new_context(
        http_credentials={"username": login[0], "password": login[1]} if login else None,
        viewport={"width": options.width, "height": options.height},
        bypass_csp=options.bypass_csp,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def context(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    options = context_options(request.node)
    context = open_context(chromium, options)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
