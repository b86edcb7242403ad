"""The syncer's settings: environment variables (case-insensitive) or `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from showcase_common.settings import (
    CommonSettings,
    ConsumerSettings,
    S3Settings,
    SnapshotSigningSettings,
)

from syncer.preparation import PreSnapshotCommand


class SyncerConsumerSettings(ConsumerSettings):
    """`SYNCER_ACK_WAIT_S`, `SYNCER_MAX_DELIVER`, `SYNCER_BATCH_SIZE`, `SYNCER_FETCH_TIMEOUT_S`,
    `SYNCER_HEARTBEAT_S`."""

    model_config = SettingsConfigDict(
        env_prefix="SYNCER_", env_file=".env", extra="ignore", populate_by_name=True
    )

    batch_size: int = 100
    """At most this many pending events are covered by one snapshot."""


class SyncerSettings(CommonSettings, S3Settings, SnapshotSigningSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    service_name: str = "syncer"
    index_db_path: Path = Path(".data/index/index.sqlite3")
    """The index database the syncer snapshots: the same file as intake's INDEX_DB_PATH."""
    syncer_host: str = "127.0.0.1"
    """The address of the syncer's health port."""
    syncer_port: int = 8002
    """The syncer's health port: /healthz, /readyz, /metrics."""

    consumer: SyncerConsumerSettings = Field(default_factory=SyncerConsumerSettings)
    """The consumer's tuning (`SYNCER_` + ACK_WAIT_S, MAX_DELIVER, BATCH_SIZE, …)."""

    syncer_s3_attempts: int = 5
    """S3 attempts per batch before it is reported failed (IndexSyncFailed)."""
    syncer_s3_budget_s: float = 60.0
    """The most time a batch may spend retrying S3 before it is reported failed (or
    SYNCER_S3_ATTEMPTS, whichever comes first)."""
    syncer_s3_backoff_initial_s: float = 0.5
    """The first wait before an S3 retry; it doubles per attempt."""
    syncer_s3_backoff_max_s: float = 8.0
    """The longest wait between S3 retries."""
    syncer_max_pointer_conflicts: int = 20
    """Another syncer won the race this many times in a row: give up for now (nak)."""

    syncer_keep_generations: int = 20
    """Generation objects kept in the store after each publication; 0 keeps them all."""
    syncer_keep_min_age_s: float = 3600.0
    """A generation object younger than this is never removed (a machine may still be
    downloading it)."""

    syncer_create_bucket: bool = False
    """Create the bucket at start-up (local runs); otherwise a missing bucket fails /readyz."""
    syncer_publish_on_start: bool = True
    """When the bucket holds no generation yet, publish one at start (a new deployment pointing
    at an existing index: the machines get the real index without waiting for a request)."""
    syncer_adopt_legacy_index: bool = False
    """Replace an S3 `db/index.sqlite3` that the pipeline did not write (no generation in its
    metadata, e.g. the Rails application's upload). Off: such a copy is left alone (a warning
    per publication); turn it on once, deliberately, when the pipeline takes over that key."""
    syncer_start_retry_min_s: float = 1.0
    """The first wait before retrying the start-up publication (it doubles per attempt)."""
    syncer_start_retry_max_s: float = 30.0
    """The longest wait between those retries while S3 (or the bucket) is not there yet."""
    syncer_pre_snapshot_commands: list[PreSnapshotCommand] = Field(default_factory=list)
    """The Rails job's steps before a snapshot, where the index lives beside the Rails app
    (`preparation.py`): a JSON list of `{"run": "…" or ["argv", …], "name": "…",
    "optional": false}`; a required one that fails stops the sync."""
    syncer_rails_root: Path | None = None
    """The Rails app's directory, where those commands run (`script/…`, `lib/…` are there)."""
    syncer_command_timeout_s: float = 300.0
    """Each pre-snapshot command's limit; past it its process group is killed."""
    syncer_command_env: str = ""
    """More of the syncer's variables those commands get beside the allow-list (comma-separated,
    `PREFIX_*`); never its secrets."""
    syncer_work_dir: Path | None = None
    """Where snapshots are staged (a temporary directory when unset)."""
