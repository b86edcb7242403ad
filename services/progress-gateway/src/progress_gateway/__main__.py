"""`python -m progress_gateway`: the one runner, given the service's settings, ports and build."""

import sys

from showcase_common.runner import run

from progress_gateway.bootstrap import build, ports
from progress_gateway.config import GatewaySettings


def main(argv: list[str] | None = None) -> int:
    return run(GatewaySettings, ports, build, argv)


if __name__ == "__main__":
    sys.exit(main())
