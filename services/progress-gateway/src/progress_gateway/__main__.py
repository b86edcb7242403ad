"""`python -m progress_gateway`: settings → logging → bootstrap → serve."""

from __future__ import annotations

import uvicorn
from showcase_common.logs import configure_logging

from progress_gateway.bootstrap import build_app
from progress_gateway.config import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    uvicorn.run(
        build_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        ws="websockets-sansio",
        log_config=None,  # keep our JSON logging
        lifespan="on",
    )


if __name__ == "__main__":
    main()
