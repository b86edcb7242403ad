"""`python -m machine_agent`: the one runner, given the agent's settings, ports and build."""

from showcase_common.runner import run

from machine_agent.bootstrap import build, ports
from machine_agent.config import AgentSettings


def main() -> None:
    run(AgentSettings, ports, build)


if __name__ == "__main__":
    main()
