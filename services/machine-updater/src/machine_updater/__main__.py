"""`python -m machine_updater`: the one runner, given the service's settings, ports and build."""

import sys

from showcase_common.runner import run

from machine_updater.bootstrap import build, ports
from machine_updater.config import UpdaterSettings


def main(argv: list[str] | None = None) -> int:
    return run(UpdaterSettings, ports, build, argv)


if __name__ == "__main__":
    sys.exit(main())
