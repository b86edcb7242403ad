"""`python -m intake [seed]`: the one runner, given the service's settings, ports and build
(`seed` creates the local run's index when there is none: `bootstrap.prepare_index`)."""

import sys

from showcase_common.runner import run

from intake.bootstrap import build, ports
from intake.config import IntakeSettings


def main(argv: list[str] | None = None) -> int:
    return run(IntakeSettings, ports, build, argv)


if __name__ == "__main__":
    sys.exit(main())
