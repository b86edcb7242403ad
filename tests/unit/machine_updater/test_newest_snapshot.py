"""The newest announced snapshot, as the updater looks it up: concurrent lookups share one read."""

from __future__ import annotations

import asyncio

from machine_updater.newest_snapshot import SharedLookups
from showcase_common.events import Snapshot


def snapshot(generation: int) -> Snapshot:
    return Snapshot(generation=generation, object_key=f"g{generation}", sha256="0" * 64, size=1)


class SlowFeed:
    """Answers when released; counts the reads."""

    def __init__(self) -> None:
        self.reads = 0
        self.value = snapshot(1)
        self.release = asyncio.Event()

    async def newest(self) -> Snapshot | None:
        self.reads += 1
        await self.release.wait()
        return self.value


async def test_lookups_asked_together_share_one_read_and_a_later_one_reads_again() -> None:
    feed = SlowFeed()
    shared = SharedLookups(feed)
    together = [asyncio.create_task(shared.newest()) for _ in range(32)]
    await asyncio.sleep(0)  # every lookup asked before the read answers
    feed.release.set()
    assert {s.generation for s in await asyncio.gather(*together) if s} == {1}
    assert feed.reads == 1

    feed.value = snapshot(2)  # announced after that read finished: seen by the next lookup
    assert await shared.newest() == snapshot(2)
    assert feed.reads == 2
