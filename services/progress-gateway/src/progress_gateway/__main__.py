"""`python -m progress_gateway`: settings → logging → bootstrap → serve."""

from __future__ import annotations

import uvicorn
from showcase_common import serving
from showcase_common.logs import configure_logging

from progress_gateway.bootstrap import build_app
from progress_gateway.config import GatewaySettings


def server_config(settings: GatewaySettings, *, port: int | None = None) -> uvicorn.Config:
    """How the gateway is served (tests and benchmarks pass `port=0` for a free one)."""
    return serving.server_config(
        build_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port if port is None else port,
        limits=settings.http_limits,
        ws="websockets-sansio",
        # Messages are a few hundred bytes: compression would only cost a zlib context
        # (tens of KiB) per connection.
        ws_per_message_deflate=False,
        lifespan="on",
    )


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    uvicorn.Server(server_config(settings)).run()


if __name__ == "__main__":
    main()
