"""The agent's settings: environment variables named as in docs/ARCHITECTURE.md."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict
from showcase_common.settings import (
    DEV_MACHINE_UPDATE_SECRET,
    CommonSettings,
    S3Settings,
    SnapshotVerifySettings,
    long_enough,
    require_secret,
)

# An update (download + verify + swap + regenerate + prerender) must answer within this many
# seconds. The updater's per-call read timeout must be longer (it uses 75 s by default), so the
# agent, not the caller, is the one that gives up and says why.
DEFAULT_UPDATE_TIMEOUT_S = 60.0


class AgentSettings(CommonSettings, S3Settings, SnapshotVerifySettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "machine-agent"
    agent_id: str = Field(default="", validation_alias=AliasChoices("agent_id", "fly_machine_id"))
    """This machine's id as the fleet names it (on Fly: FLY_MACHINE_ID); default: host name and
    port."""
    agent_region: str = Field(
        default="local", validation_alias=AliasChoices("agent_region", "fly_region")
    )
    """This machine's region (on Fly: FLY_REGION)."""
    agent_host: str = "127.0.0.1"
    """The address the agent listens on."""
    agent_port: int = 8101
    """The agent's port: `POST /showcase/update_config`, the pages, /showcase/status, /healthz."""
    agent_data_dir: Path | None = None
    """Where the served index, the generated config and the pages live (default
    `.data/agents/<agent_id>`)."""
    machine_update_secret: SecretStr | None = None
    """Bearer secret of `POST /showcase/update_config` (required outside the local dev run)."""
    agent_update_timeout_s: float = DEFAULT_UPDATE_TIMEOUT_S
    """An update (download, verify, swap, regenerate, prerender) not done by then is answered as
    failed, saying why; the updater's UPDATE_TIMEOUT_S must be longer."""
    agent_catchup_retry_min_s: float = 1.0
    """At start the agent catches up with the newest snapshot in S3; while S3 is not there, it
    retries after this first wait."""
    agent_catchup_retry_max_s: float = 30.0
    """The longest wait between those catch-up retries (the wait doubles up to it)."""
    agent_served_regions: str = ""
    """The fleet's served regions, comma-separated, in order (`AGENT_SERVED_REGIONS`): what
    showcases.yml's `:region:` picks from. Empty: the index's `regions` rows of type `fly`, in
    `code` order (the Rails side's default)."""

    # Sidecar mode (`sidecar.py`): beside the Rails application on a real machine.
    agent_rails_db_dir: Path | None = None
    """The application's database directory (on Fly `/data/db`, its `RAILS_DB_VOLUME`). Set, the
    agent places `index.sqlite3`, `showcases.yml` and `htpasswd` there and runs the commands
    below instead of rendering its own pages; unset (the local run), its built-in pages."""
    agent_post_apply_commands: list[str | list[str]] = Field(default_factory=list)
    """Run in order after the files are placed, as a JSON list: a string runs with `/bin/sh -c`,
    a list is an argv. E.g. `[["navigator", "-s", "reload"]]` after `AGENT_UPDATE_SCRIPT`."""
    agent_command_timeout_s: float = 120.0
    """Each command's limit; past it its whole process group is killed and the update fails."""
    agent_update_script: Path | None = None
    """The application's own update script, e.g. `/rails/script/update_configuration.rb`: run
    as navigator runs it for `POST /showcase/update_config` (a CGI: the gzipped index on
    standard input, `REQUEST_METHOD=POST`, `CONTENT_LENGTH`, `HTTP_CONTENT_ENCODING=gzip`,
    `RAILS_DB_VOLUME` = `AGENT_RAILS_DB_DIR`) instead of the agent placing the files; it succeeds
    only when its log says `Configuration update COMPLETED successfully`."""
    agent_update_script_timeout_s: float = 300.0
    """Navigator's limit for that CGI (5 minutes)."""
    agent_app_url: str = "http://127.0.0.1:3000"
    """Where the application answers on this machine: each new showcase's page must answer 200
    there before the update counts as done."""
    agent_page_check_timeout_s: float = 30.0
    """How long the new page may take to answer after the commands."""
    agent_command_env: str = ""
    """Names of the agent's environment variables its commands get besides the default
    allow-list (`commands.DEFAULT_ENV_ALLOW`), comma-separated; `PREFIX_*` matches a prefix. The
    agent's secrets (`commands.NEVER_PASSED`) are never passed."""
    agent_file_mode: str | None = None
    """Octal mode of the files placed in `agent_rails_db_dir` (default: the replaced file's,
    0644 for a new one)."""
    agent_file_owner: str | None = None
    """`uid:gid` of the files placed there (default: the replaced file's; needs root)."""

    @field_validator("agent_file_mode")
    @classmethod
    def _octal(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"0?o?[0-7]{3,4}", value):
            raise ValueError("must be an octal mode such as 0644")
        return value

    @field_validator("agent_file_owner")
    @classmethod
    def _uid_gid(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+(:\d+)?", value):
            raise ValueError("must be numeric uid:gid such as 1000:1000")
        return value

    @field_validator("machine_update_secret", mode="before")
    @classmethod
    def _secret_long_enough(cls, value: object) -> object:
        """A short bearer secret is guessable: one guess per request, every machine at once."""
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        return long_enough(plain) if isinstance(plain, str) else value

    @model_validator(mode="after")
    def _defaults(self) -> AgentSettings:
        if not self.agent_id:
            self.agent_id = f"{socket.gethostname()}-{self.agent_port}"
        if self.agent_data_dir is None:
            self.agent_data_dir = Path(".data") / "agents" / self.agent_id
        given = (
            self.machine_update_secret.get_secret_value() if self.machine_update_secret else None
        )
        self.machine_update_secret = SecretStr(
            require_secret(
                "machine_update_secret",
                given,
                dev_mode=self.showcase_dev_mode,
                dev_value=DEV_MACHINE_UPDATE_SECRET,
            )
        )
        return self

    @property
    def served_region_codes(self) -> list[str] | None:
        """`agent_served_regions` as a list; None for the default."""
        codes = [code.strip() for code in self.agent_served_regions.split(",") if code.strip()]
        return codes or None

    @property
    def command_env_allow(self) -> list[str]:
        return [name.strip() for name in self.agent_command_env.split(",") if name.strip()]

    @property
    def data_dir(self) -> Path:
        assert self.agent_data_dir is not None  # set by the validator
        return self.agent_data_dir
