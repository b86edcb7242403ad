"""The gateway's settings (environment variables of the same names)."""

from __future__ import annotations

from showcase_common.settings import CommonSettings, ProgressTokenSettings


class GatewaySettings(CommonSettings, ProgressTokenSettings):
    service_name: str = "progress-gateway"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8001
    http_limit_concurrency: int = 10_000
    """Each open progress WebSocket is a connection: one process holds about 8000."""
    public_intake_url: str = "http://127.0.0.1:8000"
    """Base of `retry_url` (the intake's retry endpoint)."""
    public_fleet_url: str = "http://127.0.0.1:8101"
    """Where showcases are served: a `redirect_url` elsewhere is not passed to the browser."""
    projector_enabled: bool = True
    """Run the projector in this process (off: a WebSocket-only replica)."""
    projector_fetch_timeout_s: float = 1.0
    """How long one fetch waits for events (also the longest a shutdown waits for the loop)."""
