"""The index host's own showcases.yml, rewritten (atomically) after every change."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from showcase_common.index.models import Location, Region, Showcase
from showcase_common.index.regions import served_regions
from showcase_common.index.showcases_yaml import render
from sqlmodel import Session, select

from intake.background import on_loop
from intake.db_lanes import Database

log = logging.getLogger(__name__)


def index_showcases_yml(session: Session) -> str:
    """showcases.yml as the index holds it now (what a roll-out would give the fleet)."""
    served = served_regions(session.exec(select(Region)))
    # The showcases as plain rows (attribute access by column name), not ORM objects:
    # building hundreds of instances a pass cost more than rendering them.
    showcases = cast("list[Showcase]", session.execute(select(Showcase.__table__)).all())  # type: ignore[attr-defined]  # SQLModel's table
    return render(session.exec(select(Location)), showcases, served)


class ShowcasesFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._written: str | None = None
        """What this process last wrote (so an unchanged render costs no read of the file)."""

    def write(self, session: Session) -> bool:
        """Regenerate the file from the index; False when its bytes would not change."""
        text = index_showcases_yml(session)
        if text == self._written and self.path.exists():
            return False
        on_disk = self._written is None and self.path.exists()  # first pass: what is there
        if on_disk and self.path.read_text(encoding="utf-8") == text:
            self._written = text
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".showcases.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._written = text
        return True


class ShowcasesFileRefresher:
    """Rewrites showcases.yml after changes, off the request path, coalescing bursts.

    Rendering the whole file is the costliest part of a submission (pure-Python YAML over every
    showcase), so a request only marks the file stale; one background pass covers every change
    made before it started. Passes start at most every `min_interval_s`: under a stream of
    submissions (hundreds a second) the file is rendered about once a second, not once per
    handful of requests (measured: a fifth of intake's busy time at 16 clients), and each change
    is in the file at most about `min_interval_s` (plus one render) after its commit. The file is
    the index host's own copy for the Rails app; the pipeline never reads it (the syncer ships
    the database). Safe to call `changed()` from any thread.
    """

    def __init__(
        self,
        db: Database,
        file: ShowcasesFile,
        *,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._db, self._file = db, file
        self._min_interval_s = min_interval_s
        self._clock, self._sleep = clock, sleep
        self._stale = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def changed(self) -> None:
        if self._loop is None:
            return
        if on_loop(self._loop):
            self._stale.set()
        else:
            self._loop.call_soon_threadsafe(self._stale.set)

    def write_now(self) -> None:
        with self._db.session() as session:
            self._file.write(session)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        await self._db.read(
            self.write_now, bounded=False
        )  # also picks up changes made while we were down
        stopping = asyncio.create_task(stop.wait())
        while not stop.is_set():
            stale = asyncio.create_task(self._stale.wait())
            await asyncio.wait([stale, stopping], return_when=asyncio.FIRST_COMPLETED)
            stale.cancel()
            if self._stale.is_set():
                self._stale.clear()
                started = self._clock()
                try:
                    await self._db.read(self.write_now, bounded=False)
                except Exception:
                    log.exception("could not rewrite %s", self._file.path)
                await self._pause(started, stopping)
        if self._stale.is_set():  # a change made during the last pause
            await self._db.read(self.write_now, bounded=False)

    async def _pause(self, started: float, stopping: asyncio.Task[Any]) -> None:
        """Until `min_interval_s` after the last pass started (changes meanwhile wait for the
        next pass, which covers them all); cut short when the service stops."""
        remaining = self._min_interval_s - (self._clock() - started)
        if remaining <= 0 or stopping.done():
            return
        pause = asyncio.ensure_future(self._sleep(remaining))
        await asyncio.wait([pause, stopping], return_when=asyncio.FIRST_COMPLETED)
        pause.cancel()
