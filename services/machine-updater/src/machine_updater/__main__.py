"""`python -m machine_updater`: the one runner, given the updater's settings, ports and build."""

from showcase_common.runner import run

from machine_updater.bootstrap import build, ports
from machine_updater.config import UpdaterSettings


def main() -> None:
    run(UpdaterSettings, ports, build)


if __name__ == "__main__":
    main()
