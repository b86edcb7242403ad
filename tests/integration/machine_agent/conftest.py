import pytest
from showcase_common.settings import S3Settings
from showcase_common.snapshots import S3SnapshotStore

from tests.support.agents import (
    agent_fleet,  # noqa: F401  (the fixture)
    snapshot_store,
)


@pytest.fixture
def store(s3_settings: S3Settings) -> S3SnapshotStore:
    """A fresh bucket's snapshot store, signed as the syncer signs."""
    return snapshot_store(s3_settings)
