"""Launching chromium for the browser tests.

Debian's `/usr/bin/chromium` when it is there (CI installs it with apt; Playwright cannot
download its own browser on those machines), Playwright's own chromium otherwise (a developer
machine after `playwright install chromium`). The flags are the ones known to work headless in
a container (see TOOLING.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

SYSTEM_CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_options() -> dict[str, Any]:
    """Keyword arguments for `playwright.chromium.launch`."""
    options: dict[str, Any] = {"headless": True, "args": list(CHROMIUM_ARGS)}
    if SYSTEM_CHROMIUM.exists():
        options["executable_path"] = str(SYSTEM_CHROMIUM)
    return options


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(**launch_options())


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """The same options for pytest-playwright, when a test suite uses it."""
    return launch_options()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One browser for the session; each test opens its own context (cookies, credentials)."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()
