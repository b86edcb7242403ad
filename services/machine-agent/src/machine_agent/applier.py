"""Applying an index snapshot: download → verify → install → record the generation.

Installing is, by default, the agent's own: swap → regenerate → prerender (its built-in pages,
the local run). Beside the Rails application an `Installer` (`sidecar.SidecarInstaller`) places
the files in the application's directory and runs its commands instead.

One update at a time (an asyncio lock); the blocking work runs in a worker thread. The served
generation moves only after every phase succeeded, so a failed update is retried in full.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from showcase_common.events import Snapshot
from showcase_common.replay import PageAnswer
from showcase_common.snapshot_store import (
    ChecksumMismatch,
    SnapshotMissing,
    SnapshotSource,
    SnapshotStoreError,
)

from machine_agent import metrics
from machine_agent.files import replace_atomically
from machine_agent.index_data import IndexData, SnapshotRefused, check_integrity, read_index
from machine_agent.new_pages import NotInSnapshot, new_pages
from machine_agent.prerender import Prerenderer
from machine_agent.regenerate import regenerate
from machine_agent.state import ServedState, StateFile

log = logging.getLogger(__name__)
T = TypeVar("T")

PHASES = ("download", "verify", "swap", "regenerate", "prerender", "page")


class StaleGeneration(Exception):
    """The snapshot is older than the one served (or the same generation with other bytes)."""

    def __init__(self, message: str, current: int | None) -> None:
        super().__init__(message)
        self.current = current


class SnapshotNotFound(Exception):
    """The store answered and holds no object under the snapshot's key (a 4xx: asking again
    will not make it appear, unlike an outage)."""


class StoreUnavailable(Exception):
    """The object store could not be reached or refused the download (transient)."""


class ApplyFailed(Exception):
    """A phase after the download failed (disk, templates, a command, the page check...)."""


class UpdateTimedOut(Exception):
    """The update did not finish in time; it goes on in the background."""


@dataclass
class ApplyResult:
    generation: int
    changed: bool
    timings: dict[str, float] = field(default_factory=dict)
    pages_rendered: int = 0
    pages_removed: int = 0
    pages_total: int = 0
    files_changed: list[str] = field(default_factory=list)
    pages: dict[str, PageAnswer] = field(default_factory=dict)
    """How the new showcases' pages answered on this machine once installed, by path (the
    updater judges these instead of asking each page over the network)."""


@dataclass(frozen=True)
class Incoming:
    """A downloaded and verified snapshot, ready to install."""

    snapshot: Snapshot
    path: Path
    index: IndexData
    showcase_ids: tuple[int, ...] = ()
    """The showcases the roll-out is for (their pages must answer), when the updater said."""


class Installer(Protocol):
    """Puts a verified snapshot to use on this machine; raises `ApplyFailed` when it cannot."""

    async def install(self, incoming: Incoming, timings: dict[str, float]) -> ApplyResult: ...


@dataclass(frozen=True)
class Layout:
    """Where things live in the agent's data dir."""

    root: Path

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def index_file(self) -> Path:
        return self.index_dir / "index.sqlite3"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def pages_dir(self) -> Path:
        return self.root / "pages"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"


class Applier:
    def __init__(
        self,
        store: SnapshotSource,
        data_dir: Path,
        served_region_codes: Sequence[str] | None = None,
        installer: Installer | None = None,
    ) -> None:
        self.store = store
        self.served_region_codes = served_region_codes
        self.installer = installer
        """None: the built-in install (own config files and pages)."""
        self.layout = Layout(data_dir)
        self._state = StateFile(self.layout.state_file)
        self.served: ServedState | None = None
        """What this machine serves; read from the data dir by `open`."""
        self.prerenderer = Prerenderer(self.layout.pages_dir)
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Task[ApplyResult]] = set()

    def open(self) -> None:
        """At start-up, before anything is served (never at construction: building the agent
        touches no file): the data dir's directories, a download a crash cut short removed,
        the served generation read back."""
        for directory in (self.layout.index_dir, self.layout.config_dir, self.layout.pages_dir):
            directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.layout.index_dir.glob(".incoming-*"):  # a download cut by a crash
            leftover.unlink(missing_ok=True)
        self.served = self._state.load()
        metrics.GENERATION.set(self.generation or 0)

    @property
    def generation(self) -> int | None:
        return self.served.snapshot.generation if self.served else None

    async def apply(
        self, snapshot: Snapshot, showcase_ids: Sequence[int] = (), *, allow_older: bool = False
    ) -> ApplyResult:
        """Bring this machine to `snapshot`, or say why not (the exceptions above).
        `allow_older` only for an authorised rollback (or a pinned pointer at boot)."""
        async with self._lock:
            if self._already_served(snapshot, allow_older=allow_older):
                return ApplyResult(generation=snapshot.generation, changed=False)
            return await self._apply(snapshot, tuple(showcase_ids))

    async def apply_within(
        self,
        snapshot: Snapshot,
        timeout_s: float,
        showcase_ids: Sequence[int] = (),
        *,
        allow_older: bool = False,
    ) -> ApplyResult:
        """`apply`, answering `UpdateTimedOut` after `timeout_s` while the update goes on.

        The update keeps the lock until it ends, so a retry waits for it and then finds the
        generation served (a no-op) instead of racing it.
        """
        task = asyncio.create_task(self.apply(snapshot, showcase_ids, allow_older=allow_older))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError as exc:
            raise UpdateTimedOut(
                f"generation {snapshot.generation} not applied within {timeout_s:g}s; "
                "it goes on in the background: retry to learn the outcome"
            ) from exc

    def _already_served(self, snapshot: Snapshot, *, allow_older: bool = False) -> bool:
        current = self.served.snapshot if self.served else None
        if current is None or snapshot.generation > current.generation:
            return False
        if allow_older and snapshot.generation < current.generation:
            log.warning(
                "rolling back from generation %d to %d", current.generation, snapshot.generation
            )
            return False
        if snapshot.generation < current.generation:
            raise StaleGeneration(
                f"generation {snapshot.generation} is older than the served generation "
                f"{current.generation}",
                current.generation,
            )
        if snapshot.sha256 != current.sha256:
            raise StaleGeneration(
                f"generation {snapshot.generation} is already served with sha256 "
                f"{current.sha256}, not {snapshot.sha256}",
                current.generation,
            )
        return True

    async def _apply(self, snapshot: Snapshot, showcase_ids: tuple[int, ...]) -> ApplyResult:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        path = self.layout.index_dir / f".incoming-{snapshot.generation}-{uuid.uuid4().hex}"
        try:
            index = await asyncio.to_thread(self._fetch, snapshot, path, timings)
            incoming = Incoming(snapshot, path, index, showcase_ids)
            result = await self._install_with(incoming, timings)
            self.served = _phase("state", lambda: self._state.save(snapshot))
        finally:
            path.unlink(missing_ok=True)
        timings["total"] = round(time.perf_counter() - started, 4)
        metrics.applied(result.generation, result.timings, result.pages_rendered)
        log.info(
            "applied generation %d in %.3fs (%s); pages rendered %d of %d, removed %d; "
            "files changed: %s",
            snapshot.generation,
            timings["total"],
            ", ".join(f"{p} {s:.3f}s" for p, s in timings.items() if p != "total"),
            result.pages_rendered,
            result.pages_total,
            result.pages_removed,
            ", ".join(result.files_changed) or "none",
        )
        return result

    def _fetch(self, snapshot: Snapshot, path: Path, timings: dict[str, float]) -> IndexData:
        with timed(timings, "download"):
            self._download(snapshot, path)
        with timed(timings, "verify"):
            check_integrity(path)
            return read_index(path)

    async def _install_with(self, incoming: Incoming, timings: dict[str, float]) -> ApplyResult:
        if self.installer is None:
            return await asyncio.to_thread(
                self._install,
                incoming.snapshot,
                incoming.path,
                incoming.index,
                incoming.showcase_ids,
                timings,
            )
        try:
            return await self.installer.install(incoming, timings)
        except ApplyFailed:
            raise
        except Exception as exc:  # a disk or network error of the installer's: say which
            raise ApplyFailed(f"install failed: {type(exc).__name__}: {exc}") from exc

    def _download(self, snapshot: Snapshot, dest: Path) -> None:
        expected_key = self.store.generation_key(snapshot.generation)
        if snapshot.object_key != expected_key:  # the label must match the immutable object
            raise SnapshotRefused(
                f"object {snapshot.object_key!r} is not generation {snapshot.generation}'s "
                f"({expected_key!r})"
            )
        try:
            self.store.download(snapshot, dest)  # verifies the sha256
        except ChecksumMismatch as exc:
            raise SnapshotRefused(str(exc)) from exc
        except SnapshotMissing as exc:
            raise SnapshotNotFound(
                f"generation {snapshot.generation} is not in the store ({snapshot.object_key})"
            ) from exc
        except SnapshotStoreError as exc:
            raise StoreUnavailable(f"cannot download {snapshot.object_key}: {exc}") from exc

    def _install(
        self,
        snapshot: Snapshot,
        incoming: Path,
        index: IndexData,
        showcase_ids: Sequence[int],
        timings: dict[str, float],
    ) -> ApplyResult:
        with timed(timings, "swap"):
            _phase("swap", lambda: replace_atomically(incoming, self.layout.index_file))
        with timed(timings, "regenerate"):
            files = _phase(
                "regenerate",
                lambda: regenerate(index, self.layout.config_dir, self.served_region_codes),
            )
        with timed(timings, "prerender"):
            report = _phase("prerender", lambda: self.prerenderer.render(index))
        with timed(timings, "page"):
            pages = _phase("page", lambda: self._page_answers(index, showcase_ids))
        return ApplyResult(
            generation=snapshot.generation,
            changed=True,
            timings=timings,
            pages_rendered=len(report.rendered),
            pages_removed=len(report.removed),
            pages_total=report.total,
            files_changed=files,
            pages=pages,
        )

    def _page_answers(self, index: IndexData, showcase_ids: Sequence[int]) -> dict[str, PageAnswer]:
        """How the built-in pages of these showcases answer now (as the page routes would); a
        showcase the snapshot does not hold has no page to report (the updater asks)."""
        answers = {}
        for showcase_id in showcase_ids:
            try:
                (path,) = new_pages(index, [showcase_id])
            except NotInSnapshot:
                continue
            answers[path] = PageAnswer(200 if self.prerenderer.serves(path) else 404)
        return answers


def _phase(name: str, step: Callable[[], T]) -> T:
    try:
        return step()
    except Exception as exc:
        raise ApplyFailed(f"{name} failed: {type(exc).__name__}: {exc}") from exc


@contextmanager
def timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    """Record how long the block took, in seconds, as `timings[phase]` (whatever happens)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = round(time.perf_counter() - started, 4)
