"""The one writer thread, committing every queued submission in one transaction (group commit).

Every write of this process runs in one thread, in arrival order, so SQLite's single writer is
also this process's single writer path. Two kinds of work queue up for it:

- a *call* (`WriterLane.call`): `fn(*args)` alone, opening its own transaction through
  `Database.writing()` (the relays, the outcomes, a retry);
- a *step* (`WriterLane.step`): `fn(tx, *args)`, statements on the open transaction `tx`.
  When the thread wakes it takes every step queued by then (up to `max_batch`, in order) into
  one transaction: one `BEGIN IMMEDIATE`, one `COMMIT`. Each step runs under its own
  `SAVEPOINT`: a step that raises (invalid input, a duplicate, a constraint) is rolled back to
  it alone and gets its exception; its batch-mates commit. A step's result is handed back only
  after the COMMIT, so nothing is answered as saved that a crash could still lose; a crash
  before it loses the whole batch, none of which was answered.

A submission's statements are a few tens of microseconds of SQLite each; one transaction per
submission added a BEGIN, a COMMIT and two thread hand-offs to each (measured: most of intake's
busy time under 16 clients). Here a batch costs one wake-up of the thread and one call back
into the event loop, whatever its size.

Past a bounded queue the lane refuses at once (`Saturated`: a 503 with Retry-After) rather
than letting requests pile up; it remembers when each pending piece of work arrived, so a stuck
one (a lock held by another process, a slow disk) is visible (`oldest_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

T = TypeVar("T")


class Saturated(Exception):
    """More database work waits than the configured queue holds: answer 503, retry shortly."""


@dataclass
class Transaction:
    """The open write transaction a batch of steps shares (a step runs inside its savepoint).

    `memo` keeps what every step of the batch reads alike and no step changes (the served
    regions): nothing else writes while the batch holds the write lock."""

    conn: sqlite3.Connection
    memo: dict[str, Any] = field(default_factory=dict)

    def once(self, name: str, compute: Callable[[sqlite3.Connection], T]) -> T:
        if name not in self.memo:
            self.memo[name] = compute(self.conn)
        return self.memo[name]  # type: ignore[no-any-return]  # what `compute` returned for `name`


@dataclass
class _Work:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    batched: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    number: int


_STOP = object()


class WriterLane:
    """The writer thread and its queue. Started on first use; `close()` stops it."""

    def __init__(
        self,
        engine: Engine,
        write_lock: threading.Lock,
        *,
        queue_size: int,
        max_batch: int = 64,
    ) -> None:
        self._engine, self._write_lock = engine, write_lock
        self._capacity = 1 + queue_size  # the one running plus those waiting
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: dict[int, float] = {}  # number -> arrival (monotonic); event loop only
        self._numbers = count()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0
        """Transactions of steps committed (or rolled back) so far; a test reads it."""

    @property
    def pending(self) -> int:
        """Work queued or running, not yet handed back."""
        return len(self._pending)

    @property
    def saturated(self) -> bool:
        return len(self._pending) >= self._capacity

    def oldest_s(self) -> float:
        """How long the oldest pending piece of work has waited or run (0 when none)."""
        oldest = next(iter(self._pending.values()), None)
        return 0.0 if oldest is None else time.monotonic() - oldest

    async def call(self, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
        """`fn(*args)` in the writer thread, alone (it opens its own transaction)."""
        return await self._submit(fn, args, batched=False, bounded=bounded)  # type: ignore[no-any-return]  # fn's result

    async def step(self, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
        """`fn(tx, *args)` in the next batch's transaction; its result once that committed."""
        return await self._submit(fn, args, batched=True, bounded=bounded)  # type: ignore[no-any-return]  # fn's result

    async def _submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], *, batched: bool, bounded: bool
    ) -> Any:
        if bounded and self.saturated:
            raise Saturated()
        loop = asyncio.get_running_loop()
        number = next(self._numbers)
        self._pending[number] = time.monotonic()
        work = _Work(fn, args, batched, loop, loop.create_future(), number)
        self._ensure_thread()
        self._queue.put(work)
        # A request that goes away cancels only its wait: the thread still does (and may
        # commit) the work, and releases its pending place when it hands it back.
        return await work.future

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
                thread.start()
                self._thread = thread

    def close(self) -> None:
        """Stop the thread once the work queued before is done."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            taken, stop = [first], False
            while len(taken) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                taken.append(more)
            self._settle(self._work_through(taken))
            if stop:
                return

    def _work_through(self, taken: list[_Work]) -> list[tuple[_Work, Any, BaseException | None]]:
        """Run `taken` in order: consecutive steps as one batch, each call alone."""
        done: list[tuple[_Work, Any, BaseException | None]] = []
        steps: list[_Work] = []
        for work in taken:
            if work.batched:
                steps.append(work)
                continue
            if steps:
                done += self._batch(steps)
                steps = []
            done.append(_called(work))
        if steps:
            done += self._batch(steps)
        return done

    def _batch(self, steps: list[_Work]) -> list[tuple[_Work, Any, BaseException | None]]:
        """One transaction for `steps`, a savepoint each; nothing is reported before COMMIT."""
        self.batches += 1
        outcomes: list[tuple[_Work, Any, BaseException | None]] = []
        try:
            pooled = self._engine.raw_connection()
        except Exception as exc:
            return [(work, None, exc) for work in steps]
        try:
            conn: sqlite3.Connection = pooled.driver_connection  # type: ignore[assignment]  # the sqlite3 connection under SQLAlchemy's
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    tx = Transaction(conn)
                    for work in steps:
                        outcomes.append(_in_savepoint(tx, work))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except Exception as exc:  # the batch as a whole failed: no step of it was saved
            log.warning("a write batch of %d failed: %s", len(steps), exc)
            return [(work, None, exc) for work in steps]
        finally:
            pooled.close()
        return outcomes

    def _settle(self, done: list[tuple[_Work, Any, BaseException | None]]) -> None:
        """Hand every result back, one call into each event loop for the lot."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Work, Any, BaseException | None]]]
        by_loop = {}
        for outcome in done:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
        for loop, outcomes in by_loop.items():
            # A closed loop: nobody waits for these any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._resolve, outcomes)

    def _resolve(self, outcomes: list[tuple[_Work, Any, BaseException | None]]) -> None:
        for work, result, error in outcomes:
            self._pending.pop(work.number, None)
            if work.future.done():
                continue
            if error is None:
                work.future.set_result(result)
            else:
                work.future.set_exception(error)


def _called(work: _Work) -> tuple[_Work, Any, BaseException | None]:
    try:
        return work, work.fn(*work.args), None
    except Exception as exc:
        return work, None, exc


def _in_savepoint(tx: Transaction, work: _Work) -> tuple[_Work, Any, BaseException | None]:
    """One step under its savepoint: rolled back to it alone when it raises. An error that
    ended the whole transaction (SQLite rolls back on a full disk, an I/O error) is raised."""
    conn = tx.conn
    conn.execute("SAVEPOINT step")
    try:
        result = work.fn(tx, *work.args)
    except Exception as exc:
        if not conn.in_transaction:
            raise
        conn.execute("ROLLBACK TO step")
        conn.execute("RELEASE step")
        return work, None, exc
    conn.execute("RELEASE step")
    return work, result, None
