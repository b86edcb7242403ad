"""The first generation of an empty bucket, published when the syncer starts.

A new deployment points the pipeline at an index that already exists (the Rails application's),
and a bucket that holds no generation yet. Waiting for the first studio request would leave
every machine without the pipeline's copy until then, so at start the syncer publishes one:

1. `GenerationWriter.publish_if_empty` — the usual protocol (snapshot after reading the pointer,
   generation object with `If-None-Match: *`, pointer with `If-None-Match: *`, then the legacy
   `db/index.sqlite3`), which gives up as soon as the pointer names any generation. Several
   replicas starting together therefore publish exactly one generation between them, and a
   bucket that already has one is left alone.
2. The replica whose pointer write won announces it with `IndexSynced(requests=[])` (msg id
   `synced:{generation}`, as any publication): the machine-updater rolls it out to the running
   machines exactly as it rolls out `showcasectl apply`. Machines that are stopped, or start
   later, catch up from the pointer on boot (`machine_agent.catchup`) — S3 alone would only
   reach those, which is why the event is sent too.

S3 or the bucket not there yet, or a snapshot that fails, is retried with capped backoff until it
works or the syncer stops; so is the announcement (a publication already in S3 is not redone).
If the syncer dies between the pointer write and the announcement, the running machines get
the generation with the next request, `showcasectl apply`, or their next boot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from showcase_common.backoff import Backoff, until_stopped
from showcase_common.events import Snapshot

from syncer.handlers import SyncHandler

log = logging.getLogger(__name__)
T = TypeVar("T")


async def publish_first_generation(
    handler: SyncHandler, stop: asyncio.Event, *, retry_min_s: float, retry_max_s: float
) -> Snapshot | None:
    """Publish and announce the bucket's first generation; None when it had one (or on stop)."""
    snapshot = await _until_done(handler.publish_first, stop, retry_min_s, retry_max_s, "publish")
    if snapshot is None:
        return None
    log.info("published generation %d at start (the bucket held none)", snapshot.generation)
    announced = await _until_done(
        lambda: _announced(handler, snapshot), stop, retry_min_s, retry_max_s, "announce"
    )
    return snapshot if announced else None


async def _announced(handler: SyncHandler, snapshot: Snapshot) -> bool:
    await handler.announce(snapshot)
    return True


async def _until_done(
    work: Callable[[], Awaitable[T | None]],
    stop: asyncio.Event,
    retry_min_s: float,
    retry_max_s: float,
    what: str,
) -> T | None:
    def failed(exc: Exception, delay: float) -> None:
        log.warning("first generation: cannot %s yet (%s); again in %.1fs", what, exc, delay)

    # S3, the snapshot or the bus: any failure is worth another try
    return await until_stopped(
        work,
        stop,
        backoff=Backoff(base_s=retry_min_s, cap_s=retry_max_s),
        retryable=lambda exc: True,
        on_error=failed,
    )
