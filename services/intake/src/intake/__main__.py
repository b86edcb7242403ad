"""`python -m intake [check | seed]`: the one runner, given intake's settings, ports and build
(`check` and `seed` are commands of its `Service`: `bootstrap.USAGE` says what each does)."""

import sys

from showcase_common.runner import run

from intake.bootstrap import USAGE, build, ports
from intake.config import IntakeSettings


def main(argv: list[str] | None = None) -> int:
    return run(IntakeSettings, ports, build, argv, usage=USAGE)


if __name__ == "__main__":
    sys.exit(main())
