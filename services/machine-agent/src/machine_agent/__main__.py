"""`python -m machine_agent`: the one runner, given the service's settings, ports and build."""

import sys

from showcase_common.runner import run

from machine_agent.bootstrap import build, ports
from machine_agent.config import AgentSettings


def main(argv: list[str] | None = None) -> int:
    return run(AgentSettings, ports, build, argv)


if __name__ == "__main__":
    sys.exit(main())
