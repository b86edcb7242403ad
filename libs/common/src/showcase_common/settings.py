"""The settings base every service's `config.py` subclasses.

Names are the environment variables (case-insensitive); a `.env` file is read when present.
Each field's docstring is its description (`use_attribute_docstrings`): what to set and why, as
the README's configuration table shows it (`python -m devstack.settings_table`).

Secrets have no public defaults. Only the local development run (`SHOWCASE_DEV_MODE=1`, which
devstack sets for its children) may leave one unset, and then gets a fixed development value;
anywhere else a missing secret, or one of those development values, stops the service at start
with how to generate one (`require_secret`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'

DEV_PROGRESS_TOKEN_SECRET = "dev-progress-token-secret-change-me-in-production"
DEV_MACHINE_UPDATE_SECRET = "dev-machine-secret"
DEV_SESSION_SECRET = "dev-intake-session-secret-change-me-in-production"
DEV_SNAPSHOT_SIGNING_KEY = "O6I/Ajo0xMCNpO7tOf3RSAkyzSRLRJhmRFmw8T4P7Ig="
DEV_SNAPSHOT_VERIFY_KEY = "rgVxKzTnnMVNz/F5Q1hQms4gci8SoZZ4MTQCleARcy4="
"""The development Ed25519 pair (`showcase_common.signing`): its private half is public, so
outside the local development run neither half is accepted."""
KEYGEN = "python -m syncer keygen"
KNOWN_DEV_SECRETS = frozenset(
    {
        DEV_PROGRESS_TOKEN_SECRET,
        DEV_MACHINE_UPDATE_SECRET,
        DEV_SESSION_SECRET,
        DEV_SNAPSHOT_SIGNING_KEY,
        DEV_SNAPSHOT_VERIFY_KEY,
    }
)
"""Public values: anyone can sign with them, so only the local development run accepts them."""


@dataclass(frozen=True)
class HttpLimits:
    """The limits of one server (`CommonSettings.http_limits` reads them from the environment;
    `showcase_common.serving` applies them). Here, not there, so that settings need no uvicorn."""

    limit_concurrency: int = 1000
    keep_alive_s: int = 5
    header_timeout_s: float = 10.0
    max_header_bytes: int = 16 * 1024


class InsecureSecret(ValueError):
    """A secret is missing or public outside the local development run."""


def require_secret(
    name: str, value: str | None, *, dev_mode: bool, dev_value: str, how: str = ""
) -> str:
    """`value` when it is a real secret; in the local development run, `dev_value` for a missing
    one; otherwise refuse, saying how to make one (`how`, default: a random token)."""
    if value and value not in KNOWN_DEV_SECRETS:
        return value
    if dev_mode:
        return value or dev_value
    problem = "is not set" if not value else "is a public development value"
    how = how or f"set it to a random secret (generate one with {GENERATE_SECRET})"
    raise InsecureSecret(
        f"{name.upper()} {problem}: {how}, or set SHOWCASE_DEV_MODE=1 for a local development run"
    )


class DevModeSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", use_attribute_docstrings=True
    )

    showcase_dev_mode: bool = False
    """The local development run (devstack sets it): missing secrets get public dev values."""


class CommonSettings(DevModeSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", use_attribute_docstrings=True
    )

    nats_url: str = "nats://127.0.0.1:4222"
    """One server, or a cluster's servers comma-separated (`nats://a:4222,nats://b:4222`)."""
    nats_replicas: int = Field(default=1, ge=1, le=5)
    """Replicas of the streams and buckets a service declares (3 on a three-node cluster)."""
    log_level: str = "INFO"
    """The log level (DEBUG, INFO, WARNING, ERROR); each line carries the request id where there
    is one."""
    log_json: bool = True
    """Log JSON lines, one per record (for a log collector); false: plain text for people (the
    local run)."""
    service_name: str = "showcase"
    """The name in every log line and in the NATS connection (default: the service's own)."""
    metrics_token: SecretStr | None = None
    """When set, `/metrics` answers only `Authorization: Bearer <token>` (a public service)."""

    # How the service's HTTP server protects itself (showcase_common.serving).
    http_limit_concurrency: int = 1000
    """Connections or running requests beyond which the server answers 503 at once."""
    http_keep_alive_s: int = 5
    """An idle keep-alive connection is closed after this many seconds."""
    http_header_timeout_s: float = 10.0
    """A connection that has not sent a whole request line and headers by then is closed."""
    http_max_header_bytes: int = 16 * 1024
    """A request head bigger than this is refused (400)."""

    @property
    def http_limits(self) -> HttpLimits:
        return HttpLimits(
            limit_concurrency=self.http_limit_concurrency,
            keep_alive_s=self.http_keep_alive_s,
            header_timeout_s=self.http_header_timeout_s,
            max_header_bytes=self.http_max_header_bytes,
        )

    @property
    def metrics_bearer(self) -> str | None:
        return self.metrics_token.get_secret_value() if self.metrics_token else None


class ConsumerSettings(BaseSettings):
    """One durable consumer's tuning (`showcase_common.bus.spec.consumer_options`).

    Each consuming service subclasses it once with its own prefix (`SYNCER_`, `UPDATER_`,
    `PROJECTOR_`, `ALERTS_`) and its own defaults, and holds it as its settings' `consumer`
    field: `SYNCER_ACK_WAIT_S`, `UPDATER_BATCH_SIZE`, … An older name stays accepted where one
    existed (a `validation_alias` in the subclass).
    """

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, use_attribute_docstrings=True
    )

    ack_wait_s: float = 2.0
    """A crashed consumer's messages are redelivered after this long (a live one's heartbeat
    keeps them); `showcase_common.bus.consumer.ACK_WAIT_S`."""
    max_deliver: int = 10
    """Deliveries before a failing message goes to the dead letters."""
    batch_size: int = 1
    """Messages fetched at once."""
    fetch_timeout_s: float = 1.0
    """How long one fetch waits (also the longest a shutdown waits for the loop)."""
    heartbeat_s: float | None = None
    """`in_progress()` interval for held messages; unset: a quarter of the ack wait."""

    @property
    def heartbeat(self) -> float:
        return self.heartbeat_s if self.heartbeat_s is not None else self.ack_wait_s / 4


class S3Settings(BaseSettings):
    """Object-store settings shared by the syncer, the agents and the operator tool.

    Works with AWS, Tigris and MinIO/SeaweedFS: set `s3_endpoint_url` for anything but AWS and
    `s3_addressing_style=path` for stores without virtual-host buckets.
    """

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", use_attribute_docstrings=True
    )

    s3_endpoint_url: str | None = "http://127.0.0.1:9000"
    """The S3 API's URL; blank for AWS itself (Tigris, MinIO, SeaweedFS: their URL)."""
    s3_region: str = "us-east-1"
    """The bucket's region (any value for stores that ignore it)."""
    s3_bucket: str = "showcase-index"
    """The bucket of the snapshots: the Rails application's own bucket on a real fleet (its
    `db/index.sqlite3` is kept current there)."""
    s3_addressing_style: Literal["auto", "virtual", "path"] = "path"
    """`path` for stores without virtual-host buckets (MinIO, SeaweedFS), `virtual` or `auto`
    for AWS and Tigris."""
    aws_access_key_id: str | None = Field(default=None)
    """The S3 key: read-write for the syncer (and showcasectl), read-only for the agents and the
    updater (docs/SECURITY.md); the local run generates both."""
    aws_secret_access_key: str | None = Field(default=None)
    """The secret of that key."""
    s3_prefix: str = "db"
    """The key prefix: `db/index.sqlite3` (what the machines' own sync reads),
    `db/generations/N` and the pointer go under it."""
    s3_connect_timeout_s: float = 3.0
    """An S3 connection not made by then fails (and is retried)."""
    s3_read_timeout_s: float = 10.0
    """An S3 answer that stalls this long fails (and is retried)."""


class FleetSettings(BaseSettings):
    """Where the machines are listed, as the machine-updater finds them: the Fly Machines API
    when `fly_app_name` is set, else the static YAML file `fleet_file` (none: no machines).
    Read by `showcasectl status` and intake's admin page (`showcase_common.fleet_status`)."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", use_attribute_docstrings=True
    )

    fleet_file: Path | None = None
    """The static YAML list the machine-updater reads: `machines: [{id, region, url}]`."""
    agent_timeout_s: float = 5.0
    """How long each machine's /showcase/status may take before it counts as unreachable."""
    fly_app_name: str | None = None
    """As the updater's: the Fly app whose machines are listed (wins over FLEET_FILE)."""
    fly_api_token: str | None = None
    """The Machines API token (a read-only scope is enough to list)."""
    fly_api_url: str = "https://api.machines.dev"
    """The Machines API's base URL."""
    fly_app_url: str | None = None
    """The agents' public URL; defaults to https://{fly_app_name}.fly.dev."""
    fly_machine_protocol: str = "agent"
    """As the updater's: `update_config` machines have no `/showcase/status`."""


MIN_SECRET_BYTES = 32


def long_enough(value: str) -> str:
    """Refuse a short secret: HS256 with a short key can be brute-forced offline from any token
    a browser holds. (An empty one is "not set", for `require_secret` to judge.)"""
    if value and len(value.encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"must be at least {MIN_SECRET_BYTES} bytes; generate one with {GENERATE_SECRET}"
        )
    return value


class ProgressTokenSettings(DevModeSettings):
    """The secret intake signs progress tokens with and the gateway verifies them with.

    Set PROGRESS_TOKEN_SECRET to the same random value on both (`make run` generates one); the
    local development run without it uses one public value on both, so it still works end to end.
    """

    progress_token_secret: str = ""
    """Signs (intake) and verifies (progress-gateway) the progress tokens: the same random
    value, at least 32 bytes, on both; required outside the local development run, which
    generates one."""

    _long_enough = field_validator("progress_token_secret")(long_enough)

    @model_validator(mode="after")
    def _required(self) -> ProgressTokenSettings:
        self.progress_token_secret = require_secret(
            "progress_token_secret",
            self.progress_token_secret,
            dev_mode=self.showcase_dev_mode,
            dev_value=DEV_PROGRESS_TOKEN_SECRET,
        )
        return self


def _ed25519_key(value: str | None) -> str | None:
    """A base64 Ed25519 key is 32 bytes (checked here, without the crypto library)."""
    if not value:
        return value
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"must be a base64 Ed25519 key of 32 bytes; make a pair with {KEYGEN}")
    return value.strip()


class SnapshotSigningSettings(DevModeSettings):
    """The syncer's private key: it signs every generation object and pointer it writes.

    A syncer-only secret (`SNAPSHOT_SIGNING_KEY`); its public half is the agents'
    `SNAPSHOT_VERIFY_KEY`. `python -m syncer keygen` prints a new pair."""

    snapshot_signing_key: SecretStr | None = None
    """The syncer's Ed25519 private key (base64): it signs every generation object and pointer
    it writes; required outside the local development run. `python -m syncer keygen` prints a
    pair."""

    @field_validator("snapshot_signing_key")
    @classmethod
    def _is_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            return SecretStr(_ed25519_key(value.get_secret_value()) or "")
        return value

    @model_validator(mode="after")
    def _required_key(self) -> SnapshotSigningSettings:
        given = self.snapshot_signing_key.get_secret_value() if self.snapshot_signing_key else None
        self.snapshot_signing_key = SecretStr(
            require_secret(
                "snapshot_signing_key",
                given,
                dev_mode=self.showcase_dev_mode,
                dev_value=DEV_SNAPSHOT_SIGNING_KEY,
                how=f"make a key pair with `{KEYGEN}` (the syncer gets SNAPSHOT_SIGNING_KEY, "
                "every agent SNAPSHOT_VERIFY_KEY)",
            )
        )
        return self

    @property
    def signing_key(self) -> str:
        assert self.snapshot_signing_key is not None  # set by the validator
        return self.snapshot_signing_key.get_secret_value()


class SnapshotVerifySettings(DevModeSettings):
    """The agents' public key: they apply only pointers and generations it verifies."""

    snapshot_verify_key: str | None = None
    """The public half of SNAPSHOT_SIGNING_KEY (base64): only pointers and generations it
    verifies are applied; required outside the local development run."""

    _is_key = field_validator("snapshot_verify_key")(_ed25519_key)

    @model_validator(mode="after")
    def _required_key(self) -> SnapshotVerifySettings:
        self.snapshot_verify_key = require_secret(
            "snapshot_verify_key",
            self.snapshot_verify_key,
            dev_mode=self.showcase_dev_mode,
            dev_value=DEV_SNAPSHOT_VERIFY_KEY,
            how=f"set it to the public half of the syncer's SNAPSHOT_SIGNING_KEY (`{KEYGEN}` "
            "prints a pair)",
        )
        return self

    @property
    def verify_key(self) -> str:
        assert self.snapshot_verify_key is not None  # set by the validator
        return self.snapshot_verify_key
