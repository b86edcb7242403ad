"""The operator tool's settings: the services' environment variables, read the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict
from showcase_common.fly import DEFAULT_API_URL
from showcase_common.settings import CommonSettings, ConsumerSettings, S3Settings


class AlertsConsumerSettings(ConsumerSettings):
    """`ALERTS_ACK_WAIT_S`, `ALERTS_FETCH_TIMEOUT_S`, … of `showcasectl alerts run`."""

    model_config = SettingsConfigDict(
        env_prefix="ALERTS_", env_file=".env", extra="ignore", populate_by_name=True
    )


class CtlSettings(CommonSettings, S3Settings):
    """NATS_URL, S3_*, FLEET_FILE like the services; SMTP_* and ADMIN_EMAIL for `alerts run`."""

    service_name: str = "showcasectl"
    log_json: bool = False

    fleet_file: Path | None = Path("deploy/fleet.local.yaml")
    """The same static YAML list the machine-updater reads: `machines: [{id, region, url}]`."""
    agent_timeout_s: float = 5.0
    """How long `status` waits for each machine's /showcase/status."""

    # On Fly, as the machine-updater: the Machines API lists the agents' app (wins over the file).
    fly_app_name: str | None = None
    """As the updater's: the Fly app whose machines `status` lists (wins over FLEET_FILE)."""
    fly_api_token: str | None = None
    """The Machines API token."""
    fly_api_url: str = DEFAULT_API_URL
    """The Machines API's base URL."""
    fly_app_url: str | None = None
    """The agents' public URL; defaults to https://{fly_app_name}.fly.dev."""
    fly_machine_protocol: str = "agent"
    """As the updater's: `update_config` machines have no `/showcase/status` (`fleet.py`)."""

    audit_max_age_days: float = 365.0
    """How long the audit stream keeps operator actions (the pipeline's stream: 30 days)."""

    stuck_after_s: float = 300.0
    """A backlog, or a request without progress, older than this counts as stuck: in `status`,
    and for the stuck watch of `alerts run` (which fails or reports it, `stuck_policy`)."""

    smtp_host: str = "127.0.0.1"
    """The SMTP server of `alerts run`'s e-mails."""
    smtp_port: int = 1025
    """The SMTP server's port."""
    smtp_from: str = "showcasectl@localhost"
    """The sender of the alerts."""
    smtp_timeout_s: float = 10.0
    """An SMTP exchange not done by then fails (the alert is retried)."""
    admin_email: str = Field(
        default="admin@localhost", validation_alias=AliasChoices("admin_email", "smtp_to")
    )
    """Who gets the admin alerts (one e-mail per failed request)."""


class AlerterSettings(CtlSettings):
    """`showcasectl alerts run`: the operator tool's settings and the alert consumer's."""

    service_name: str = "showcasectl-alerts"
    alerts_max_age_s: float = 24 * 3600.0
    """Older failures are not mailed (a first start reads the whole stream)."""
    consumer: AlertsConsumerSettings = Field(default_factory=AlertsConsumerSettings)
    stuck_policy: Literal["fail", "alert"] = "fail"
    """A request with no progress for `STUCK_AFTER_S` (roll-outs not paused or pinned) is
    failed, with Retry for the studio (`fail`), or left running (`alert`); the admins get one
    e-mail either way."""
    stuck_check_interval_s: float = Field(default=10.0, gt=0)
    """How often the stuck watch looks (a request is noticed within this of STUCK_AFTER_S)."""
