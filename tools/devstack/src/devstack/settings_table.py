"""The README's configuration table, generated from the settings classes.

    uv run python -m devstack.settings_table            # print it
    uv run python -m devstack.settings_table --write    # rewrite README.md's section with it

Every variable each service's settings class reads (its pydantic-settings fields, its consumer's
prefixed ones, older names that still work), the operators' tool's, and the local run's own
(`devstack.config.LOCAL_RUN_VARIABLES`): default and description from the code, one row per
variable naming everyone who reads it. tests/unit/workspace/test_settings_table.py fails when
README.md's copy is out of date, or when a setting has no description.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from intake.config import IntakeSettings
from machine_agent.config import AgentSettings
from machine_updater.config import UpdaterSettings
from progress_gateway.config import GatewaySettings
from showcase_common.docs import Reader, Setting, markdown, readers_of, rewrite_section, shown
from showcase_common.settings import CommonSettings
from showcasectl.config import AlerterSettings
from syncer.config import SyncerSettings

from devstack.config import AGENT_IDS_REGIONS, LOCAL_RUN_VARIABLES, StackConfig

SECTION = "settings"
README = Path(__file__).resolve().parents[4] / "README.md"

SERVICES: dict[str, type[CommonSettings]] = {
    "intake": IntakeSettings,
    "syncer": SyncerSettings,
    "machine-updater": UpdaterSettings,
    "machine-agent": AgentSettings,
    "progress-gateway": GatewaySettings,
}
"""Each service's settings class (the one its `bootstrap.ports` takes)."""


def _local_default(field: str, variable: str) -> str:
    if field == "agents":
        base = 8101
        ports = [str(base + i) for i in range(len(AGENT_IDS_REGIONS))]
        return f"`{','.join(ports)}`" if variable == "AGENT_PORTS" else f"`{base}`"
    spec = StackConfig.__dataclass_fields__[field]
    assert isinstance(spec, dataclasses.Field)
    return shown(spec.default)


def local_run() -> Reader:
    """The variables `python -m devstack` (`make run`) reads itself."""
    return Reader(
        "devstack",
        [
            Setting(variable, (), _local_default(field, variable), what)
            for variable, (field, what) in LOCAL_RUN_VARIABLES.items()
        ],
    )


def readers() -> list[Reader]:
    return [
        *(readers_of(name, [cls]) for name, cls in SERVICES.items()),
        readers_of("showcasectl", [AlerterSettings]),
        local_run(),
    ]


def table() -> str:
    return markdown(readers(), services=SERVICES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.settings_table",
        description="Print the configuration table of README.md, generated from the settings "
        "classes; --write puts it into README.md between its settings markers.",
    )
    parser.add_argument("--write", action="store_true", help=f"rewrite {README.name}'s table")
    args = parser.parse_args(argv)
    if not args.write:
        print(table(), end="")
    elif rewrite_section(README, SECTION, table()):
        print(f"{README}: the configuration table was rewritten")
    else:
        print(f"{README}: the configuration table was already current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
