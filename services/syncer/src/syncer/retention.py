"""Retention: old generation objects are removed once they can no longer be asked for.

Kept, whatever their number: the generation the pointer names (and the one it is pinned to), the newest `keep` generations,
and every object younger than `min_age` (a roll-out or a slow machine may still be downloading
it, and a syncer between its upload and its pointer write owns one). Everything else goes,
including the orphans of lost pointer races. Retention is housekeeping: a failure is logged and
retried after the next publication, never reported to a studio.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from showcase_common.snapshots import SnapshotStore, SnapshotStoreError, StoredGeneration

from syncer import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    keep: int = 20
    """The newest generations that always stay; 0 keeps every generation (no retention)."""
    min_age: dt.timedelta = dt.timedelta(hours=1)


def expired(
    stored: Sequence[StoredGeneration],
    policy: RetentionPolicy,
    now: dt.datetime,
    pointer: int | None = None,
    pinned: int | None = None,
) -> list[StoredGeneration]:
    """The generations that `policy` lets go, oldest first; never `pointer`'s nor `pinned`."""
    if policy.keep <= 0:
        return []
    newest_first = sorted(stored, key=lambda g: g.generation, reverse=True)
    return sorted(
        (
            g
            for g in newest_first[policy.keep :]
            if g.generation not in (pointer, pinned) and now - g.last_modified >= policy.min_age
        ),
        key=lambda g: g.generation,
    )


class Retention:
    def __init__(
        self,
        store: SnapshotStore,
        policy: RetentionPolicy,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.store = store
        self.policy = policy
        self._clock = clock

    async def prune(self) -> list[int]:
        """Delete what the policy lets go; the generations deleted (none when it failed)."""
        if self.policy.keep <= 0:
            return []
        try:
            return await asyncio.to_thread(self._prune)
        except SnapshotStoreError as exc:
            log.warning("retention skipped, will try after the next publication: %s", exc)
            return []

    def _prune(self) -> list[int]:
        latest, _ = self.store.read_pointer()
        pointer = latest.generation if latest else None
        pinned = latest.pin.snapshot.generation if latest and latest.pin else None
        doomed = expired(self.store.list_generations(), self.policy, self._clock(), pointer, pinned)
        if doomed:
            self.store.delete([g.key for g in doomed])
            metrics.GENERATIONS_REMOVED.inc(len(doomed))
            log.info(
                "retention removed %d generation(s): %d..%d",
                len(doomed),
                doomed[0].generation,
                doomed[-1].generation,
            )
        return [g.generation for g in doomed]
