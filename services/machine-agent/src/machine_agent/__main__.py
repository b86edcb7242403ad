"""`python -m machine_agent`: settings → logging → bootstrap → run."""

from __future__ import annotations

import uvicorn
from showcase_common.logs import configure_logging

from machine_agent.bootstrap import create_app
from machine_agent.config import AgentSettings


def main() -> None:
    settings = AgentSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.agent_host,
        port=settings.agent_port,
        log_config=None,  # keep our handlers: one JSON line per record
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
