"""The agent's settings: environment variables named as in docs/ARCHITECTURE.md."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from showcase_common.settings import (
    DEV_MACHINE_UPDATE_SECRET,
    CommonSettings,
    S3Settings,
    require_secret,
)

# An update (download + verify + swap + regenerate + prerender) must answer within this many
# seconds. The updater's per-call read timeout must be longer (it uses 75 s by default), so the
# agent, not the caller, is the one that gives up and says why.
DEFAULT_UPDATE_TIMEOUT_S = 60.0


class AgentSettings(CommonSettings, S3Settings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "machine-agent"
    agent_id: str = Field(default="", validation_alias=AliasChoices("agent_id", "fly_machine_id"))
    agent_region: str = Field(
        default="local", validation_alias=AliasChoices("agent_region", "fly_region")
    )
    agent_host: str = "127.0.0.1"
    agent_port: int = 8101
    agent_data_dir: Path | None = None
    """Where the served index, the generated config and the pages live (default
    `.data/agents/<agent_id>`)."""
    machine_update_secret: SecretStr | None = None
    """Bearer secret of `POST /showcase/update_config` (required outside the local dev run)."""
    agent_update_timeout_s: float = DEFAULT_UPDATE_TIMEOUT_S
    agent_catchup_retry_min_s: float = 1.0
    agent_catchup_retry_max_s: float = 30.0

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
    def data_dir(self) -> Path:
        assert self.agent_data_dir is not None  # set by the validator
        return self.agent_data_dir
