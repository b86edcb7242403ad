"""Browser tests: chromium (tests/support/browser.py) against the whole local stack."""

from tests.support.browser import browser_type_launch_args, chromium

__all__ = ["browser_type_launch_args", "chromium"]
