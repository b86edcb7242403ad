import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.support.signing import SIGNING_ENV, VERIFY_ENV

pytest_plugins = ["tests.support.servers", "tests.support.stack"]

# Locally every run explores new examples (that is how a NaN in a JSON body was found); CI runs a
# fixed set, so that a red run means a change broke something and is reproducible as it stands.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _late(item: pytest.Item) -> tuple[bool, bool]:
    return (
        item.get_closest_marker("browser") is not None,
        item.get_closest_marker("e2e") is not None,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whole-stack tests after the others (the shared `local_stack` then lives only while they
    run), and browser tests last of all: Playwright's sync API keeps an event loop running in
    the main thread for the rest of the session, and pytest-asyncio cannot run an async test
    after that."""
    items.sort(key=_late)


@pytest.fixture(autouse=True, scope="session")
def _snapshot_keys() -> Iterator[None]:
    """The tests' snapshot key pair in the environment, as a deployment sets it: every syncer
    and agent a test builds (or starts as a process) signs and verifies with it."""
    before = {name: os.environ.get(name) for name in (*SIGNING_ENV, *VERIFY_ENV)}
    os.environ.update(SIGNING_ENV | VERIFY_ENV)
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
