"""`python -m machine_agent`: settings → logging → bootstrap → run."""

from __future__ import annotations

import uvicorn
from showcase_common.logs import configure_logging
from showcase_common.serving import server_config

from machine_agent.bootstrap import create_app
from machine_agent.config import AgentSettings


def main() -> None:
    settings = AgentSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = create_app(settings)
    config = server_config(
        app,
        host=settings.agent_host,
        port=settings.agent_port,
        limits=settings.http_limits,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
