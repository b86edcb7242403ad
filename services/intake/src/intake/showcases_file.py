"""The index host's own showcases.yml, rewritten (atomically) after every change."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path

from showcase_common.index.models import Location, Region, Showcase
from showcase_common.index.regions import served_regions
from showcase_common.index.showcases_yaml import render
from sqlmodel import Session, select

from intake.db import Database

log = logging.getLogger(__name__)


class ShowcasesFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, session: Session) -> bool:
        """Regenerate the file from the index; False when its bytes would not change."""
        served = served_regions(session.exec(select(Region)))
        text = render(session.exec(select(Location)), session.exec(select(Showcase)), served)
        if self.path.exists() and self.path.read_text(encoding="utf-8") == text:
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
        return True


class ShowcasesFileRefresher:
    """Rewrites showcases.yml after changes, off the request path, coalescing bursts.

    Rendering the whole file is the costliest part of a submission (pure-Python YAML over every
    showcase), so a request only marks the file stale; one background pass covers every change
    made before it started. Safe to call `changed()` from any thread.
    """

    def __init__(self, db: Database, file: ShowcasesFile) -> None:
        self._db, self._file = db, file
        self._stale = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def changed(self) -> None:
        if self._loop is not None:
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
                try:
                    await self._db.read(self.write_now, bounded=False)
                except Exception:
                    log.exception("could not rewrite %s", self._file.path)
