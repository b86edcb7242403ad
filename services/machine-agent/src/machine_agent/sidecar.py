"""Sidecar mode: the agent beside the Rails application on a real machine.

Set `AGENT_RAILS_DB_DIR` (on Fly `/data/db`, the app's `RAILS_DB_VOLUME`) and the agent, instead
of its own pages, feeds the application:

1. **Stage.** The verified snapshot, `showcases.yml` and `htpasswd` are written to temporary
   names in that directory (same filesystem, so each later rename is atomic), each fsynced.
   A failure here removes the temporaries: the application's files are unchanged.
2. **Place.** `showcases.yml` and `htpasswd` are renamed over the old ones (only when their bytes
   changed, as the Rails side does), then `index.sqlite3` LAST, and the directory is fsynced.
   A reader sees the old file or the new one, never half of one. Each file keeps the mode and
   owner of the one it replaces; an index the application holds in WAL mode is written into,
   not renamed over (`placement.py`).
3. **Commands.** `AGENT_POST_APPLY_COMMANDS`, in order, each within `AGENT_COMMAND_TIMEOUT_S`,
   with `SHOWCASE_GENERATION`, `SHOWCASE_SHA256`, `SHOWCASE_INDEX_PATH`, `SHOWCASE_YML_PATH`,
   `SHOWCASE_HTPASSWD_PATH` and `SHOWCASE_PAGE_PATHS` (the new showcases' pages, space
   separated) in their environment, beside an allow-list of the agent's (never its secrets); their
   output is logged, capped and redacted, and never part of the HTTP answer (`commands.py`).
4. **Page.** Each new showcase's page (`showcase_common.index.page_path`, a lone `showcase`
   included) must answer 200 from `AGENT_APP_URL` within `AGENT_PAGE_CHECK_TIMEOUT_S`.

Only then is the generation recorded as applied. When a command fails or hangs, or the page does
not answer, AFTER the files were placed: the files stay (they are the verified new index, which
the application's own job would also have placed — putting the old ones back could undo a newer
write by that job), but the generation is NOT recorded, so the update fails on this machine with
the command's output tail, and a retry places the same bytes again and re-runs every command.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from showcase_common.commands import Command, command_environment, run_command
from showcase_common.events import Snapshot
from showcase_common.replay import PageAnswer, judge

from machine_agent.applier import ApplyFailed, ApplyResult, Incoming, timed
from machine_agent.cgi import ScriptFailed, run_update_script
from machine_agent.config import AgentSettings
from machine_agent.files import fsync_dir
from machine_agent.new_pages import NotInSnapshot, new_page_regions
from machine_agent.placement import FileAccess, place_index, stage_bytes, stage_copy
from machine_agent.rails_config import HTPASSWD, INDEX, SHOWCASES_YML, render_rails_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SidecarSettings:
    db_dir: Path
    app_url: str
    commands: Sequence[Command] = ()
    command_timeout_s: float = 120.0
    page_timeout_s: float = 30.0
    served_region_codes: Sequence[str] | None = None
    command_env_allow: Sequence[str] = ()
    """Names (or `PREFIX_*`) of the agent's environment its commands also get (`commands.py`)."""
    file_access: FileAccess = field(default_factory=FileAccess)
    region: str = ""
    """This machine's region: another region's page must answer with the fly-replay there."""
    update_script: Path | None = None
    """The application's own `script/update_configuration.rb`, run as navigator runs it
    (`cgi.py`) instead of the agent placing the files itself."""
    update_script_timeout_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: AgentSettings) -> SidecarSettings | None:
        if settings.agent_rails_db_dir is None:
            return None
        return cls(
            db_dir=settings.agent_rails_db_dir,
            app_url=settings.agent_app_url.rstrip("/"),
            commands=tuple(settings.agent_post_apply_commands),
            command_timeout_s=settings.agent_command_timeout_s,
            page_timeout_s=settings.agent_page_check_timeout_s,
            served_region_codes=settings.served_region_codes,
            command_env_allow=settings.command_env_allow,
            file_access=FileAccess.parse(settings.agent_file_mode, settings.agent_file_owner),
            region=settings.agent_region,
            update_script=settings.agent_update_script,
            update_script_timeout_s=settings.agent_update_script_timeout_s,
        )

    def path(self, name: str) -> Path:
        return self.db_dir / name


@dataclass
class _Staged:
    """Temporary files beside their targets, in the order they are placed (the index last)."""

    files: list[tuple[Path, Path]] = field(default_factory=list)

    def discard(self) -> None:
        for temporary, _ in self.files:
            temporary.unlink(missing_ok=True)


class SidecarInstaller:
    """Places a verified snapshot in the application's directory and runs its commands."""

    def __init__(self, config: SidecarSettings, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.http = http or httpx.AsyncClient(timeout=5.0)

    def open(self) -> None:
        """At start-up (not at construction): the application's database directory, and the
        files a crash left staged in it removed."""
        self.config.db_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.config.db_dir.glob(".*.incoming-*"):  # staged before a crash
            leftover.unlink(missing_ok=True)

    async def install(self, incoming: Incoming, timings: dict[str, float]) -> ApplyResult:
        try:
            regions = new_page_regions(
                incoming.index, incoming.showcase_ids, self.config.served_region_codes
            )
        except NotInSnapshot as exc:
            raise ApplyFailed(str(exc)) from exc
        pages = list(regions)
        with timed(timings, "place"):
            if self.config.update_script is not None:
                changed = await self._run_update_script(incoming, pages)
            else:
                changed = await asyncio.to_thread(self._place, incoming)
        with timed(timings, "commands"):
            await self._run_commands(incoming.snapshot, pages)
        with timed(timings, "page"):
            answers = await self._check_pages(regions)
        return ApplyResult(
            generation=incoming.snapshot.generation,
            changed=True,
            timings=timings,
            files_changed=changed,
            pages=answers,
        )

    def _place(self, incoming: Incoming) -> list[str]:
        staged = _Staged()
        try:
            changed = self._stage(incoming, staged)
        except Exception as exc:  # nothing was replaced yet
            staged.discard()
            raise ApplyFailed(f"staging the files failed: {type(exc).__name__}: {exc}") from exc
        for temporary, target in staged.files:
            if target.name == INDEX:
                place_index(temporary, target)  # into a live WAL database, not over it
            else:
                os.replace(temporary, target)
        fsync_dir(self.config.db_dir)
        return changed

    def _stage(self, incoming: Incoming, staged: _Staged) -> list[str]:
        changed: list[str] = []
        for name, text in render_rails_config(
            incoming.index, self.config.served_region_codes
        ).items():
            target = self.config.path(name)
            data = text.encode()
            if _holds(target, data):
                continue  # rewritten only when its bytes change, as the Rails side does
            staged.files.append((stage_bytes(target, data, self.config.file_access), target))
            changed.append(name)
        index = self.config.path(INDEX)
        staged.files.append(
            (stage_copy(incoming.path, index, self.config.file_access), index)
        )  # placed last
        return [*changed, INDEX]

    async def _run_commands(self, snapshot: Snapshot, pages: list[str]) -> None:
        env = command_environment(self._environment(snapshot, pages), self.config.command_env_allow)
        total = len(self.config.commands)
        for number, command in enumerate(self.config.commands, start=1):
            outcome = await run_command(command, env, self.config.command_timeout_s)
            if not outcome.ok:
                raise ApplyFailed(f"command {number} of {total} {outcome.describe()}")

    def _environment(self, snapshot: Snapshot, pages: list[str]) -> dict[str, str]:
        return {
            "SHOWCASE_GENERATION": str(snapshot.generation),
            "SHOWCASE_SHA256": snapshot.sha256,
            "SHOWCASE_INDEX_PATH": str(self.config.path(INDEX)),
            "SHOWCASE_YML_PATH": str(self.config.path(SHOWCASES_YML)),
            "SHOWCASE_HTPASSWD_PATH": str(self.config.path(HTPASSWD)),
            "SHOWCASE_PAGE_PATHS": " ".join(pages),
        }

    async def _run_update_script(self, incoming: Incoming, pages: list[str]) -> list[str]:
        """The application's own script writes the index, htpasswd and showcases.yml."""
        assert self.config.update_script is not None
        try:
            await run_update_script(
                self.config.update_script,
                incoming.path,
                db_dir=self.config.db_dir,
                showcase_env=self._environment(incoming.snapshot, pages),
                allow=self.config.command_env_allow,
                timeout_s=self.config.update_script_timeout_s,
            )
        except ScriptFailed as exc:
            raise ApplyFailed(str(exc)) from exc
        return [INDEX]

    async def _check_pages(self, pages: Mapping[str, str | None]) -> dict[str, PageAnswer]:
        """Each page's right answer (reported to the updater, which judges it again)."""
        return {
            path: await self._until_page_answers(path, region) for path, region in pages.items()
        }

    async def _until_page_answers(self, path: str, region: str | None) -> PageAnswer:
        # The application may take a moment to pick the new files up: ask again until the
        # limit. Region by region (`showcase_common.replay`): 200 from a machine of the page's
        # region, navigator's fly-replay there from any other.
        url = self.config.app_url + path
        deadline = time.monotonic() + self.config.page_timeout_s
        delay, last = 0.1, "no answer"
        while True:
            try:
                response = await self.http.get(url)
                answer = PageAnswer.of(
                    response.status_code, response.headers.get("content-type"), response.content
                )
                verdict = judge(answer, self.config.region, region)
                if verdict.ok:
                    return answer
                last = verdict.detail
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + delay > deadline:
                raise ApplyFailed(
                    f"the new showcase's page {url} did not answer rightly within "
                    f"{self.config.page_timeout_s:g}s ({last})"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def close(self) -> None:
        await self.http.aclose()


def _holds(target: Path, data: bytes) -> bool:
    try:
        return target.read_bytes() == data
    except FileNotFoundError:
        return False
