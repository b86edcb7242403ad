"""`python -m syncer`: the one runner, given the service's settings, ports and build."""

import sys

from showcase_common.runner import run

from syncer.bootstrap import build, ports
from syncer.config import SyncerSettings


def main(argv: list[str] | None = None) -> int:
    return run(SyncerSettings, ports, build, argv)


if __name__ == "__main__":
    sys.exit(main())
