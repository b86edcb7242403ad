"""How database work runs: sessions on the index's engine, the write lock, and the lanes of
reader and writer threads (the file itself, its schema and engine are `intake.index_db`).

Writes in this process go through one lock (it also covers synchronous callers: the seed
command, tests), and each write transaction starts with
`BEGIN IMMEDIATE`: a check and the insert it guards (a showcase's unique name and key, which the
Rails table has no index for) then see no other writer in between, from this process or another
(the Rails application writes to the same file). busy_timeout covers waiting for those.

Database work from the event loop runs in two lanes of worker threads (`Database.read`,
`Database.write`): reads in a few threads, writes in exactly one (`intake.group_commit`), so
SQLite's single writer is also this process's single writer path. That thread takes every
submission queued by the time it wakes into one transaction (`Database.step`: group commit, a
savepoint per submission). A call waits for its lane in the event loop, where
waiting costs no thread and no connection; a thread checks out a connection only once it has
its turn, and holds one at a time. The pool is sized to the lanes' threads, so no thread ever
waits for a connection (what used to exhaust a 5 + 10 pool under 16 concurrent clients: every
request held a connection from its login lookup while it queued for the write lock). Past a
bounded queue a lane refuses at once (`Saturated`, a 503 with Retry-After) rather than letting
requests pile up behind it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any, TypeVar

from anyio import CapacityLimiter, to_thread
from sqlalchemy.engine import Engine
from sqlmodel import Session

from intake.group_commit import Saturated, WriterLane

__all__ = ["Saturated"]

T = TypeVar("T")


@dataclass(frozen=True)
class DbLimits:
    """How much database work runs and waits at once (settings `DB_*`)."""

    read_threads: int = 4
    queue: int = 64
    """Calls that may wait for each lane beyond its threads; more are refused (`Saturated`).
    Each request waits for at most one read and one write at a time, so 32 concurrent clients
    never reach 64."""
    stuck_s: float = 10.0
    """A call waiting or running longer than this makes /readyz report the database stuck."""

    @property
    def pool_size(self) -> int:
        """One connection per thread that uses the pool: the readers, the writer, and one spare
        for work outside the lanes (the schema at start, the seed command)."""
        return self.read_threads + 2


class Lane:
    """Calls run in at most `threads` worker threads; the others wait in the event loop.

    Refuses (`Saturated`) when `queue` calls already wait. Remembers when each pending call
    arrived, so a stuck one (a lock held by another process, a slow disk) is visible."""

    def __init__(self, threads: int, queue: int) -> None:
        self.limiter = CapacityLimiter(threads)
        self._capacity = threads + queue
        self._pending: dict[int, float] = {}  # call number -> arrival (monotonic); in order
        self._numbers = count()

    @property
    def saturated(self) -> bool:
        return len(self._pending) >= self._capacity

    def oldest_s(self) -> float:
        """How long the oldest pending call has waited or run (0 when there is none)."""
        oldest = next(iter(self._pending.values()), None)
        return 0.0 if oldest is None else time.monotonic() - oldest

    async def run(self, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
        if bounded and self.saturated:
            raise Saturated()
        number = next(self._numbers)
        self._pending[number] = time.monotonic()
        try:
            return await to_thread.run_sync(fn, *args, limiter=self.limiter)
        finally:
            del self._pending[number]


class Database:
    """Sessions on one engine, the lanes that run database work, and the write lock."""

    def __init__(self, engine: Engine, limits: DbLimits | None = None) -> None:
        self.engine = engine
        self.limits = limits or DbLimits()
        self.write_lock = threading.Lock()
        self.reads = Lane(self.limits.read_threads, self.limits.queue)
        self.writes = WriterLane(engine, self.write_lock, queue_size=self.limits.queue)

    async def read(self, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
        """`fn(*args)` in a reader thread; `fn` opens (and closes) its own session."""
        return await self.reads.run(fn, *args, bounded=bounded)

    async def write(self, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
        """`fn(*args)` in the one writer thread; `fn` writes through `writing()`.

        `bounded=False` is for the background relays: they wait rather than fail."""
        return await self.writes.call(fn, *args, bounded=bounded)

    async def step(self, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
        """`fn(tx, *args)` in the writer thread's next batch transaction (`group_commit`):
        its result once that batch committed, its exception undoing only its own statements."""
        return await self.writes.step(fn, *args, bounded=bounded)

    def close(self) -> None:
        """Stop the writer thread (after the work queued) and close the pool."""
        self.writes.close()
        self.engine.dispose()

    def state(self) -> str:
        """ "saturated", "stuck" (a call pending longer than `stuck_s`) or "ok"."""
        if self.reads.saturated or self.writes.saturated:
            return "saturated"
        if max(self.reads.oldest_s(), self.writes.oldest_s()) > self.limits.stuck_s:
            return "stuck"
        return "ok"

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A session whose work commits as one transaction (rolled back on error)."""
        with self.write_lock, self.session() as session:
            try:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
