"""The gateway's settings (environment variables of the same names)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from showcase_common.settings import CommonSettings, ConsumerSettings, ProgressTokenSettings


class ProjectorConsumerSettings(ConsumerSettings):
    """`PROJECTOR_FETCH_TIMEOUT_S` (how long one fetch waits for events, also the longest a
    shutdown waits for the loop), `PROJECTOR_BATCH_SIZE`, `PROJECTOR_ACK_WAIT_S`, …"""

    model_config = SettingsConfigDict(
        env_prefix="PROJECTOR_", env_file=".env", extra="ignore", populate_by_name=True
    )

    batch_size: int = 64
    """Events fetched at once: each request's are folded into one write
    (`Projector.handle_batch`), so a 32-machine roll-out's events are caught up together."""


class GatewaySettings(CommonSettings, ProgressTokenSettings):
    service_name: str = "progress-gateway"
    gateway_host: str = "127.0.0.1"
    """The address the gateway listens on."""
    gateway_port: int = 8001
    """The gateway's port: the progress WebSocket, /healthz, /metrics."""
    http_limit_concurrency: int = 10_000
    """Each open progress WebSocket is a connection: one process holds about 8000."""
    public_intake_url: str = "http://127.0.0.1:8000"
    """Base of `retry_url` (the intake's retry endpoint)."""
    public_fleet_url: str = "http://127.0.0.1:8101"
    """Where showcases are served: a `redirect_url` elsewhere is not passed to the browser."""
    projector_enabled: bool = True
    """Run the projector in this process (off: a WebSocket-only replica)."""
    consumer: ProjectorConsumerSettings = Field(default_factory=ProjectorConsumerSettings)
    """The projector's consumer (`PROJECTOR_` + FETCH_TIMEOUT_S, BATCH_SIZE, …)."""
