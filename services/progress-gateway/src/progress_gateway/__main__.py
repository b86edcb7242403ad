"""`python -m progress_gateway`: the one runner, given the gateway's settings, ports and build."""

from showcase_common.runner import run

from progress_gateway.bootstrap import build, ports
from progress_gateway.config import GatewaySettings


def main() -> None:
    run(GatewaySettings, ports, build)


if __name__ == "__main__":
    main()
