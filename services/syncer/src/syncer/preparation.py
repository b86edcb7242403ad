"""The Rails job's own steps before a snapshot, where the index lives beside the Rails app.

rubys/showcase `script/config-update` (run by `ConfigUpdateJob`) does, before it syncs the
index: map generation and upload (`ruby script/generate_and_upload_maps.rb`; a failure stops
the job), the showcase date sync from the events' databases (`ShowcaseDateSync.sync`) and the
clean-up of stale empty showcases (`ShowcaseCleanup.cleanup`), whose errors are reported and
the job goes on. `SYNCER_PRE_SNAPSHOT_COMMANDS` lists such commands; each runs through
`showcase_common.commands` (its own process group, a timeout, an allow-listed environment plus
`RAILS_DB_VOLUME` = the index's directory, output logged line by line, capped and redacted), in
the Rails app's directory (`SYNCER_RAILS_ROOT`), before each snapshot that covers requests or
a roll-out. A required command that fails stops the sync: the batch is retried by the bus and,
on its last delivery, reported failed (`command_failed`); an optional one is logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from showcase_common.commands import Command, command_environment, run_command, shown

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], Awaitable[None]]
"""Told before each command: its number, how many there are, and what it is."""


class PreSnapshotCommand(BaseModel):
    """One step: a command (a string runs with `/bin/sh -c`, a list is an argv), its name in
    the progress message, and whether its failure stops the sync."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: str | list[str]
    name: str = ""
    optional: bool = False

    @property
    def title(self) -> str:
        return self.name or shown(self.run)


class PreparationFailed(Exception):
    """A required pre-snapshot command failed: no snapshot of this batch."""


@dataclass(frozen=True)
class Preparation:
    commands: Sequence[PreSnapshotCommand]
    index_dir: Path
    rails_root: Path | None = None
    timeout_s: float = 300.0
    env_allow: Sequence[str] = ()

    async def run(self, progress: Progress) -> None:
        total = len(self.commands)
        for number, step in enumerate(self.commands, start=1):
            await progress(number, total, step.title)
            outcome = await run_command(
                _command(step.run),
                command_environment({"RAILS_DB_VOLUME": str(self.index_dir)}, self.env_allow),
                self.timeout_s,
                cwd=str(self.rails_root) if self.rails_root else None,
            )
            if outcome.ok:
                continue
            what = f"{step.title} ({number} of {total}) {outcome.describe()}"
            if not step.optional:
                raise PreparationFailed(what)
            log.warning("optional step %s; going on, as the Rails job does", what)


def _command(run: str | list[str]) -> Command:
    return run if isinstance(run, str) else list(run)
