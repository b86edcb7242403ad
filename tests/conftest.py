import pytest

pytest_plugins = ["tests.support.servers", "tests.support.stack"]


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
