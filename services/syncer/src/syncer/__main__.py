"""`python -m syncer`: the one runner, given the syncer's settings, ports and build."""

from showcase_common.runner import run

from syncer.bootstrap import build, ports
from syncer.config import SyncerSettings


def main() -> None:
    run(SyncerSettings, ports, build)


if __name__ == "__main__":
    main()
