"""Fault tests share the session's `local_stack` with the e2e tests: each leaves it whole."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.faults.studio import ensure_running, wait_for
from tests.support.stack import LocalStack


def _ready_urls(stack: LocalStack) -> list[str]:
    config = stack.stack.config
    services = [
        config.intake_url,
        f"http://127.0.0.1:{config.gateway_port}",
        f"http://127.0.0.1:{config.syncer_port}",
        f"http://127.0.0.1:{config.updater_port}",
    ]
    return [f"{url}/readyz" for url in [*services, *stack.agent_urls.values()]]


def _all_ready(urls: list[str]) -> bool:
    return all(httpx.get(url, timeout=5).status_code == 200 for url in urls)


@pytest.fixture
def stack(local_stack: LocalStack) -> Iterator[LocalStack]:
    """The shared stack, checked ready before the test and made whole again after it."""
    urls = _ready_urls(local_stack)
    wait_for(lambda: _all_ready(urls), 60, "every service ready before the fault")
    try:
        yield local_stack
    finally:
        ensure_running(local_stack, *local_stack.stack.names())
        wait_for(lambda: _all_ready(urls), 90, "every service ready again after the fault")
