"""The machine-updater's settings (environment variables, case-insensitive)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict
from showcase_common.settings import (
    DEV_MACHINE_UPDATE_SECRET,
    CommonSettings,
    ConsumerSettings,
    S3Settings,
    long_enough,
    require_secret,
)

from machine_updater.fleet import DEFAULT_UPDATE_CONFIG_PATH, MachineProtocol


class UpdaterConsumerSettings(ConsumerSettings):
    """`UPDATER_ACK_WAIT_S`, `UPDATER_HEARTBEAT_S`, `UPDATER_BATCH_SIZE`, `UPDATER_MAX_DELIVER`,
    `UPDATER_FETCH_TIMEOUT_S` (the older `ACK_WAIT_S`, `HEARTBEAT_S`, `BATCH_SIZE` still work)."""

    model_config = SettingsConfigDict(
        env_prefix="UPDATER_", env_file=".env", extra="ignore", populate_by_name=True
    )

    ack_wait_s: float = Field(
        default=2.0, validation_alias=AliasChoices("updater_ack_wait_s", "ack_wait_s")
    )
    """A crashed updater's roll-out is taken over by another after this long (a live one keeps
    it with a heartbeat every `heartbeat_s`)."""
    heartbeat_s: float | None = Field(
        default=0.5, validation_alias=AliasChoices("updater_heartbeat_s", "heartbeat_s")
    )
    batch_size: int = Field(
        default=16, validation_alias=AliasChoices("updater_batch_size", "batch_size")
    )
    """IndexSynced events fetched at once and coalesced into one roll-out of the newest."""


class UpdaterSettings(CommonSettings, S3Settings):
    service_name: str = "machine-updater"
    updater_port: int = 8003
    """The updater's health port: /healthz, /readyz, /metrics."""
    updater_host: str = "127.0.0.1"
    """The address of that port."""

    # Where the fleet comes from: a static YAML list, or the Fly Machines API when an app is named.
    fleet_file: Path | None = Path("deploy/fleet.local.yaml")
    """The static machine list, `machines: [{id, region, url, state?, protocol?, path?}]`;
    unused when FLY_APP_NAME is set."""
    fly_app_name: str | None = None
    """The Fly app whose machines are the fleet, listed through the Machines API (instead of
    FLEET_FILE)."""
    fly_api_token: str | None = None
    """The Machines API token (`fly tokens create readonly` is enough to list)."""
    fly_api_url: str = "https://api.machines.dev"
    """The Machines API's base URL."""
    fly_app_url: str | None = None
    """The app's public URL; defaults to https://{fly_app_name}.fly.dev."""
    fly_machine_protocol: MachineProtocol = "agent"
    """How the Fly app's machines are updated: `agent` (a machine agent on each) or
    `update_config` (the Rails machines' own CGI, through the public URL with
    `Fly-Force-Instance-Id`). A static fleet file says it per machine instead."""
    fly_update_config_path: str = DEFAULT_UPDATE_CONFIG_PATH
    """The `update_config` endpoint's path on the Fly app's machines."""
    snapshot_verify_key: str | None = None
    """The syncer's public key (`SNAPSHOT_VERIFY_KEY`): set, a snapshot sent to `update_config`
    machines is sent only when its signature verifies (docs/SECURITY.md). Give the updater the
    agents' read-only S3 key for those downloads."""

    machine_update_secret: str = ""
    """Bearer secret sent to the agents' update endpoint (required outside the local dev run)."""

    concurrency: int = 8
    """Machines updated at once: the fleet shares one S3 bucket and this host's sockets."""
    machine_deadline_s: float = 180.0
    """Everything one machine may take: every attempt, backoff and the truth check (two
    attempts that run into the agent's own 60 s limit, plus the backoff between them)."""
    machine_attempts: int = 4
    """Update attempts per machine before it counts as failed."""
    retry_initial_s: float = 0.5
    """The first wait before a machine's next attempt; it doubles per attempt."""
    retry_max_s: float = 8.0
    """The longest wait between a machine's attempts."""
    # The agent gives up on an update after 60 s (AGENT_UPDATE_TIMEOUT_S) and says why; our read
    # timeout is longer so the agent, not the caller, is the one that reports the cause.
    # Status and page calls are quick.
    update_timeout_s: float = 75.0
    """Also the read timeout of an `update_config` machine's streamed log (the Rails job: 30 s
    per read; navigator kills the script after 5 minutes)."""
    page_deadline_s: float = 60.0
    """How long each new page may take to answer rightly after a machine's update answered
    (the Rails machines prerender after the answer)."""
    connect_timeout_s: float = 3.0
    """A connection to a machine not made by then fails the attempt."""
    probe_timeout_s: float = 5.0
    """A machine's status or page check not answered by then fails the check."""

    consumer: UpdaterConsumerSettings = Field(default_factory=UpdaterConsumerSettings)
    """The consumer's tuning (`UPDATER_` + ACK_WAIT_S, HEARTBEAT_S, BATCH_SIZE, …)."""

    canary: bool = True
    """Canary first: one machine takes a generation alone before the others (off: all at once)."""
    canary_machine: str | None = None
    """The canary's machine id; unset (or not in the roll-out): the first in region order."""

    pause_poll_s: float = 1.0
    """While the operators pause updates, how often a held roll-out looks whether they resumed."""

    _secret_long_enough = field_validator("machine_update_secret")(long_enough)

    @model_validator(mode="after")
    def _secret_required(self) -> UpdaterSettings:
        self.machine_update_secret = require_secret(
            "machine_update_secret",
            self.machine_update_secret,
            dev_mode=self.showcase_dev_mode,
            dev_value=DEV_MACHINE_UPDATE_SECRET,
        )
        return self

    @property
    def app_url(self) -> str:
        return self.fly_app_url or f"https://{self.fly_app_name}.fly.dev"
