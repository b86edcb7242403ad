"""Boot catch-up: bring the machine to the newest snapshot in S3 when it starts.

A machine that was stopped during a roll-out was skipped by the updater; it levels itself here.
If the store is down, the machine keeps serving what it has and retries with capped backoff.
"""

from __future__ import annotations

import asyncio
import logging

from showcase_common.backoff import Backoff, until_stopped
from showcase_common.snapshot_store import SignatureRefused, SnapshotStoreError

from machine_agent.applier import (
    Applier,
    ApplyFailed,
    SnapshotNotFound,
    StaleGeneration,
    StoreUnavailable,
)
from machine_agent.index_data import SnapshotRefused

log = logging.getLogger(__name__)


class CatchUp:
    def __init__(self, applier: Applier, retry_min_s: float, retry_max_s: float) -> None:
        self.applier = applier
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.state = "pending"
        """pending → done | retrying: <why> | refused: <why>"""

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(base_s=self.retry_min_s, cap_s=self.retry_max_s)
        await until_stopped(
            self._once, stop, backoff=backoff, retryable=_worth_retrying, on_error=self._failed
        )

    def _failed(self, exc: Exception, delay: float) -> None:
        self.state = f"retrying: {exc}"
        log.warning("boot catch-up failed (%s); retrying in %.1fs", exc, delay)

    async def _once(self) -> None:
        try:
            pointer, _ = await asyncio.to_thread(self.applier.store.read_pointer)
        except SignatureRefused as exc:  # not the syncer's: never applied; the next update is
            self.state = f"refused: {exc}"
            log.error("boot catch-up refused the pointer: %s", exc)
            return
        latest = pointer.target if pointer else None  # a pinned fleet: the pinned generation
        pinned = pointer is not None and pointer.pin is not None
        served = self.applier.generation
        if pinned and latest is not None and latest.generation != served:
            log.warning(
                "the fleet is pinned to generation %d: catching up to it", latest.generation
            )
        elif latest is None or (served is not None and latest.generation <= served):
            log.info(
                "boot catch-up: serving generation %s, newest in store %s",
                served,
                latest.generation if latest else None,
            )
            self.state = "done"
            return
        try:
            await self.applier.apply(latest, allow_older=pinned)
        except StaleGeneration:
            pass  # an update from the updater got there first: fine
        except SnapshotRefused as exc:  # retrying cannot fix a bad object; the next update will
            self.state = f"refused: {exc}"
            log.error("boot catch-up refused generation %d: %s", latest.generation, exc)
            return
        self.state = "done"


def _worth_retrying(exc: Exception) -> bool:
    # SnapshotNotFound too: the pointer named an object not (yet) readable; read it again.
    return isinstance(exc, SnapshotStoreError | StoreUnavailable | SnapshotNotFound | ApplyFailed)
