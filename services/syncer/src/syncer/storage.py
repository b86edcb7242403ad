"""Publishing snapshots as generations in the object store, with a retry budget.

One publication is: read the pointer → take the snapshot → upload it as the next generation →
move the pointer with If-Match → refresh the legacy copy (only one the pipeline wrote, or one it
was told to adopt: `SYNCER_ADOPT_LEGACY_INDEX`). The snapshot is taken *after* the
pointer is read, and any race (`GenerationTaken`, `PointerConflict`) starts over with a fresh
snapshot: so when our pointer write succeeds, every generation published before it was taken
before ours, and the pointer never moves backwards in generation *or* in content.

S3 errors and timeouts are retried with capped exponential backoff and jitter
(`showcase_common.backoff`) within a budget of attempts and seconds; `on_retry` runs between attempts (heartbeats, progress).

`publish_if_empty` is the same protocol for the first generation of a bucket: it stops as soon
as the pointer names any generation (another replica, or a request, got there first), so several
syncers starting together on an empty bucket publish one generation between them — the pointer's
`If-None-Match: *` admits exactly one.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from showcase_common.backoff import RetryPolicy, Sleep, retry
from showcase_common.events import Snapshot
from showcase_common.snapshots import (
    Pin,
    Pointer,
    PointerConflict,
    SnapshotStore,
    SnapshotStoreError,
)

from syncer import metrics
from syncer.snapshot import LocalSnapshot, SnapshotTaker

log = logging.getLogger(__name__)

OnRetry = Callable[[int, int, BaseException], Awaitable[None]]
"""Called before attempt n (n ≥ 2) of max_attempts, with the error of the one before."""
T = TypeVar("T")


FOREIGN_LEGACY = (
    "db/index.sqlite3 in the bucket was not written by the pipeline (no generation in its "
    "metadata: the Rails application's own copy?): left alone, generation %d is published under db/generations/ and "
    "db/latest.json only. Once that copy is known to be the index the pipeline serves, set "
    "SYNCER_ADOPT_LEGACY_INDEX=true to let the syncer replace it from then on."
)


class StorageUnavailable(Exception):
    """The object store kept failing for the whole retry budget."""


class RaceLost(Exception):
    """Other syncers won the pointer race too many times in a row."""


@dataclass(frozen=True)
class Published:
    snapshot: Snapshot
    showcase_ids: frozenset[int]


async def _no_retry_hook(attempt: int, max_attempts: int, exc: BaseException) -> None:
    return None


def _is_transient(exc: Exception) -> bool:
    # Conflicts are resolved inside an attempt; a checksum refusal is not an outage.
    return isinstance(exc, SnapshotStoreError) and not isinstance(exc, PointerConflict)


class StagingDir:
    """Where snapshots wait for their upload: SYNCER_WORK_DIR, or else a private temporary
    directory, made at start-up (`make`, a `prepare` step) and never while building."""

    def __init__(self, configured: Path | None) -> None:
        self._path = configured

    def make(self) -> None:
        if self._path is None:
            self._path = Path(tempfile.mkdtemp(prefix="syncer-"))

    @property
    def path(self) -> Path:
        """Made here when start-up has not (a handler driven without the runner)."""
        self.make()
        assert self._path is not None
        return self._path


class GenerationWriter:
    def __init__(
        self,
        store: SnapshotStore,
        snapshotter: SnapshotTaker,
        staging: StagingDir,
        policy: RetryPolicy,
        *,
        max_conflicts: int = 20,
        adopt_legacy: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.store = store
        self.adopt_legacy = adopt_legacy
        self.snapshotter = snapshotter
        self.staging = staging
        self.policy = policy
        self.max_conflicts = max_conflicts
        self._sleep = sleep

    @property
    def staging_dir(self) -> Path:
        return self.staging.path

    async def publish(self, on_retry: OnRetry = _no_retry_hook) -> Published:
        """Snapshot the index and publish it as a new generation (see the module doc)."""
        published = await self._publish(_Publication(self), on_retry)
        assert published is not None  # only `only_if_empty` gives up without publishing
        return published

    async def publish_if_empty(self, on_retry: OnRetry = _no_retry_hook) -> Published | None:
        """Publish the bucket's first generation; None when the pointer already names one."""
        return await self._publish(_Publication(self, only_if_empty=True), on_retry)

    async def _publish(self, attempt: _Publication, on_retry: OnRetry) -> Published | None:
        async def step() -> Published | None:
            return await asyncio.to_thread(attempt.step)

        try:
            return await self._retrying(step, on_retry)
        finally:
            attempt.discard()

    async def latest(self, on_retry: OnRetry = _no_retry_hook) -> Snapshot | None:
        """The snapshot the pointer names now (None before the first publication)."""

        async def read() -> Snapshot | None:
            snapshot, _ = await asyncio.to_thread(self.store.latest)
            return snapshot

        return await self._retrying(read, on_retry)

    async def _retrying(self, work: Callable[[], Awaitable[T]], on_retry: OnRetry) -> T:
        policy = self.policy

        async def counted(attempt: int, exc: Exception) -> None:
            metrics.S3_RETRIES.inc()
            await on_retry(attempt, policy.attempts, exc)

        try:
            return await retry(
                work,
                backoff=policy.backoff,
                attempts=policy.attempts,
                budget_s=policy.budget_s,
                retryable=_is_transient,
                on_retry=counted,
                sleep=self._sleep,
            )
        except SnapshotStoreError as exc:
            if not _is_transient(exc):
                raise
            raise StorageUnavailable(str(exc)) from exc


class _Publication:
    """The state of one publication across attempts (each attempt runs in a worker thread)."""

    def __init__(self, writer: GenerationWriter, *, only_if_empty: bool = False) -> None:
        self.w = writer
        self.only_if_empty = only_if_empty
        self.local: LocalSnapshot | None = None
        self.published: Published | None = None
        self.legacy_done = False

    def step(self) -> Published | None:
        if self.published is None:
            self.published = self._publish_generation()
            if self.published is None:
                return None
        if not self.legacy_done:
            assert self.local is not None
            generation = self.published.snapshot.generation
            if not self.w.store.upload_legacy(
                self.local.path, generation, adopt=self.w.adopt_legacy
            ):
                metrics.LEGACY_LEFT_ALONE.inc()
                log.warning(FOREIGN_LEGACY, generation)
            self.legacy_done = True
        return self.published

    def discard(self) -> None:
        if self.local is not None:
            self.local.discard()
            self.local = None

    def _publish_generation(self) -> Published | None:
        floor = 0  # generations we know are taken, even if the pointer does not name them yet
        for _ in range(self.w.max_conflicts):
            current, etag = self.w.store.read_pointer()
            if self.only_if_empty and current is not None:
                log.info("the store already holds generation %d", current.generation)
                return None
            generation = max(current.generation if current else 0, floor) + 1
            self.discard()
            self.local = self.w.snapshotter.take(self.w.staging_dir)
            kept = _kept_pin(current)
            try:
                snapshot = self.w.store.upload(self.local.path, generation, self.local.sha256)
                self.w.store.advance_pointer(snapshot, etag, kept)
            except PointerConflict as exc:  # GenerationTaken included: another syncer raced
                log.info("lost the race for generation %d (%s); starting over", generation, exc)
                floor = generation
                continue
            log.info("published generation %d (%d bytes)", generation, snapshot.size)
            return Published(snapshot, self.local.showcase_ids)
        raise RaceLost(f"lost the pointer race {self.w.max_conflicts} times in a row")


def _kept_pin(current: Pointer | None) -> Pin | None:
    """A rollback's pin is dropped by the next publication (the fleet rolls forward), unless
    it holds (`rollback --pin`: until `unpin`)."""
    pin = current.pin if current is not None else None
    if pin is None:
        return None
    if pin.hold:
        log.info("the fleet stays pinned to generation %d until unpinned", pin.snapshot.generation)
        return pin
    log.info("rolling forward: the pin to generation %d is lifted", pin.snapshot.generation)
    return None


__all__ = [
    "GenerationWriter",
    "Published",
    "RaceLost",
    "RetryPolicy",
    "StorageUnavailable",
]
