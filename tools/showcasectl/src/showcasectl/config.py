"""The operator tool's settings: the services' environment variables, read the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict
from showcase_common.settings import CommonSettings, ConsumerSettings, FleetSettings, S3Settings


class AlertsConsumerSettings(ConsumerSettings):
    """`ALERTS_ACK_WAIT_S`, `ALERTS_FETCH_TIMEOUT_S`, … of `showcasectl alerts run`."""

    model_config = SettingsConfigDict(
        env_prefix="ALERTS_", env_file=".env", extra="ignore", populate_by_name=True
    )


class CtlSettings(CommonSettings, S3Settings, FleetSettings):
    """NATS_URL, S3_*, FLEET_FILE like the services; SMTP_* and ADMIN_EMAIL for `alerts run`."""

    service_name: str = "showcasectl"
    log_json: bool = False

    fleet_file: Path | None = Path("deploy/fleet.local.yaml")
    """The same static YAML list the machine-updater reads: `machines: [{id, region, url}]`;
    the Fly Machines API wins when FLY_APP_NAME is set (`FleetSettings`)."""

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
