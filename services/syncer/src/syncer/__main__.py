"""`python -m syncer [keygen]`: the one runner, given the syncer's settings, ports and build
(`keygen` prints a new snapshot signing key pair instead: `bootstrap.keygen`, docs/SECURITY.md)."""

import sys

from showcase_common.runner import run

from syncer.bootstrap import USAGE, build, keygen, ports
from syncer.config import SyncerSettings


def main(argv: list[str] | None = None) -> int:
    return run(SyncerSettings, ports, build, argv, usage=USAGE, commands={"keygen": keygen})


if __name__ == "__main__":
    sys.exit(main())
