"""Intake's settings: environment variables named like the fields (INTAKE_PORT, SMTP_HOST, …)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict
from showcase_common.settings import (
    DEV_SESSION_SECRET,
    CommonSettings,
    ConsumerSettings,
    FleetSettings,
    ProgressTokenSettings,
    long_enough,
    require_secret,
)

from intake.client_address import parse_networks
from intake.db_lanes import DbLimits


class OutcomesConsumerSettings(ConsumerSettings):
    """The outcome consumer's `INTAKE_OUTCOMES_ACK_WAIT_S`, `INTAKE_OUTCOMES_BATCH_SIZE`, …"""

    model_config = SettingsConfigDict(
        env_prefix="INTAKE_OUTCOMES_", env_file=".env", extra="ignore", populate_by_name=True
    )


class IntakeSettings(CommonSettings, ProgressTokenSettings, FleetSettings):
    service_name: str = "intake"
    intake_host: str = "127.0.0.1"
    """The address intake listens on (0.0.0.0 behind a proxy or in a container)."""
    intake_port: int = 8000
    """Intake's port: the form, the JSON API and the request pages."""
    index_db_path: Path = Path(".data/index/index.sqlite3")
    """The index database: the Rails application's `index.sqlite3`, which intake writes
    showcases into and the syncer snapshots (the same file: one machine, one volume)."""
    showcases_yml_path: Path = Path(".data/index/showcases.yml")
    """The index host's own showcases.yml, regenerated after every change."""
    showcases_yml_min_interval_s: float = 1.0
    """Rewrites of showcases.yml start at most this often (a burst of changes: one rewrite)."""
    deployed_showcases_path: Path | None = None
    """Where the deployed state is recorded after each successful roll-out (the Rails job's
    `db/deployed-showcases.yml`); default: `deployed-showcases.yml` beside the index."""

    @property
    def deployed_showcases_file(self) -> Path:
        return self.deployed_showcases_path or self.index_db_path.parent / "deployed-showcases.yml"

    admin_poll_s: float = Field(default=5.0, gt=0)
    """How often the admin page asks for fresh figures (`/admin/status.json`)."""

    progress_token_ttl_s: int = 2 * 3600
    """How long a progress token (the WebSocket's login) stays valid."""
    intake_session_secret: str = ""
    """Keys the form's CSRF tokens and the flashes (its own secret, not the progress tokens')."""

    public_intake_url: str = "http://127.0.0.1:8000"
    """Intake's own public URL: the studios' e-mails link to their request's page there."""
    public_fleet_url: str = "http://127.0.0.1:8101"
    """Where the fleet serves showcases: the base of each `redirect_url` and of a studio's page."""
    rails_app_url: str = ""
    """The Rails app's base (e.g. https://smooth.fly.dev/showcase): an admin's showcase from a
    studio's form lands on its `/locations/{id}/events`, as the Rails app sends it. Blank:
    intake's own events page."""
    public_gateway_url: str = "ws://127.0.0.1:8001"
    """The progress gateway's public WebSocket URL: the base of `progress.ws_url`."""

    smtp_host: str = "127.0.0.1"
    """The SMTP server of the e-mails (the admin's notice, the studios' done e-mails); empty:
    e-mails are only logged."""
    smtp_port: int = 1025
    """The SMTP server's port."""
    smtp_from: str = "showcases@localhost"
    """The sender of intake's e-mails."""
    smtp_to: str = "admin@localhost"
    """Who gets the admin e-mails."""
    smtp_timeout_s: float = 5.0
    """An SMTP exchange not done by then fails (the e-mail is sent again later)."""

    consumer: OutcomesConsumerSettings = Field(default_factory=OutcomesConsumerSettings)
    """The outcome consumer's tuning (`INTAKE_OUTCOMES_` + ACK_WAIT_S, BATCH_SIZE, …)."""
    studio_mail_max_age_s: float = 24 * 3600.0
    """An outcome older than this is recorded but not mailed (a new consumer reads the whole
    stream: old requests are not announced again)."""
    mail_retry_s: float = 1.0
    """First wait before resending an e-mail the SMTP server did not take; doubles per attempt."""
    mail_retry_max_s: float = 300.0
    """The longest wait between resends."""

    max_body_bytes: int = 64 * 1024
    """A request body over this is refused (413) before it is read, by Content-Length or as a
    streamed body passes it."""
    http_limit_concurrency: int = 256
    db_read_threads: int = 4
    """Reader threads of the index database, one pooled connection each (writes have one thread
    of their own)."""
    db_queue: int = 64
    """Database calls that may wait per lane (reads, writes) before requests get 503."""
    db_stuck_s: float = 10.0
    """A database call pending longer than this makes /readyz answer 503 ("stuck")."""
    password_check_threads: int = 2
    """Password verifications at once; the others wait their turn."""
    credential_cache_ttl_s: float = 60.0
    """How long a verified login (userid + password, against its users.password line) is
    remembered, so a burst of requests pays the hash once; 0 verifies every request."""
    login_failures: int = 10
    """Failed logins of one userid within `login_window_s` after which attempts at it get 429
    (with Retry-After) before any password is checked — except the owner's
    (LOGIN_TRUSTED_FAILURES)."""
    address_failures: int = 30
    """Failed logins from one client address within `login_window_s` after which its attempts
    get 429 before any password is checked — except the owner's (LOGIN_TRUSTED_FAILURES)."""
    login_trusted_failures: int = 10
    """The owner's path: an attempt with a signed known-device cookie of that login, or from an
    address that logged in as it before, is throttled only by its own failures (this many per
    window), never by guesses from elsewhere or at other logins from the same address."""
    login_global_failures_per_minute: int = 300
    """Failed verifications of the whole service per minute after which other attempts get 429."""
    login_window_s: float = 300.0
    """The window the failed-login counts above are kept for."""
    login_max_tracked: int = 100_000
    """Live failure records kept at most (only expired ones are dropped; past it, new ones 429)."""
    login_failure_min_s: float = 1.0
    """A refused password is answered no sooner than this, whatever its hash scheme (bcrypt may
    take ~0.6 s) and whether the login exists: timing does not tell which users exist."""
    intake_fly_proxy: bool = False
    """On Fly: the client address is `Fly-Client-IP` and the scheme `X-Forwarded-Proto`, as Fly's
    proxy sets them (intake must be reachable only through that proxy)."""
    intake_trusted_proxies: str = ""
    """Comma-separated CIDR ranges of reverse proxies whose `X-Forwarded-For`/`-Proto` are
    believed; from any other peer those headers are ignored."""
    outbox_poll_s: float = 2.0
    """How often the relay looks for accepted requests not yet on the bus (a commit also wakes
    it at once)."""
    nats_retry_s: float = 1.0
    """How long the relay waits between connection attempts while NATS is down."""

    @property
    def db_limits(self) -> DbLimits:
        return DbLimits(
            read_threads=self.db_read_threads, queue=self.db_queue, stuck_s=self.db_stuck_s
        )

    _session_secret_long_enough = field_validator("intake_session_secret")(long_enough)

    @field_validator("intake_trusted_proxies")
    @classmethod
    def _ranges(cls, value: str) -> str:
        parse_networks(value)  # a bad range stops the service at start, naming it
        return value

    @model_validator(mode="after")
    def _session_secret_required(self) -> IntakeSettings:
        self.intake_session_secret = require_secret(
            "intake_session_secret",
            self.intake_session_secret,
            dev_mode=self.showcase_dev_mode,
            dev_value=DEV_SESSION_SECRET,
        )
        return self
