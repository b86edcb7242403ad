"""The index database: SQLite in WAL mode, schema created and migrated at start.

Database work from the event loop runs in two lanes of worker threads (`Database.read`,
`Database.write`): reads in a few threads, writes in exactly one, so SQLite's single writer
is also this process's single writer path. A call waits for its lane in the event loop, where
waiting costs no thread and no connection; a thread checks out a connection only once it has
its turn, and holds one at a time. The pool is sized to the lanes' threads, so no thread ever
waits for a connection (what used to exhaust a 5 + 10 pool under 16 concurrent clients: every
request held a connection from its login lookup while it queued for the write lock). Past a
bounded queue a lane refuses at once (`Saturated`, a 503 with Retry-After) rather than letting
requests pile up behind it.

Writes also take one lock, up front: it avoids a deferred transaction failing to upgrade to a
write (SQLITE_BUSY) and covers synchronous callers (the seed command, tests). Other processes
(the syncer's snapshot, the seed command) are covered by busy_timeout.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, TypeVar

from anyio import CapacityLimiter, to_thread

# Imported for their side effect: registering every table on SQLModel.metadata.
from showcase_common.index import models as _shared  # noqa: F401
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from intake import models as _own  # noqa: F401

SCHEMA_VERSION = 1
"""Bump with a step in `_MIGRATIONS` when an existing table changes shape."""

_MIGRATIONS: dict[int, list[str]] = {}
"""version -> SQL that brings an existing database from version-1 to version. Only for tables
that already exist: `create_all` adds new tables (and makes a fresh database whole at once)."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer intake than this one."""


T = TypeVar("T")

BUSY_TIMEOUT_S = 30
"""How long a write waits for another process's lock (the syncer's snapshot) before failing."""


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


class Saturated(Exception):
    """More database work waits than the configured queue holds: answer 503, retry shortly."""


def make_engine(path: Path, limits: DbLimits | None = None) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    limits = limits or DbLimits()
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
        pool_size=limits.pool_size,
        max_overflow=0,
        # Never reached while every user of the pool is a lane thread; if it is, fail fast.
        pool_timeout=limits.stuck_s,
    )
    event.listen(engine, "connect", _on_connect)
    return engine


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """Create missing tables and bring an existing database to `SCHEMA_VERSION`.

    Tracked in `PRAGMA user_version`. A fresh database is created whole by `create_all`, so its
    migrations are not run (they would alter tables that already have the new shape)."""
    with engine.begin() as conn:
        fresh = not inspect(conn).get_table_names()
        version = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the index database is at schema version {version}, this intake knows "
                f"{SCHEMA_VERSION}: run the newer intake (or restore a backup taken before it)"
            )
        SQLModel.metadata.create_all(conn)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in [] if fresh else _MIGRATIONS.get(step, []):
                conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")


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
        self.writes = Lane(1, self.limits.queue)

    async def read(self, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
        """`fn(*args)` in a reader thread; `fn` opens (and closes) its own session."""
        return await self.reads.run(fn, *args, bounded=bounded)

    async def write(self, fn: Callable[..., T], *args: Any, bounded: bool = True) -> T:
        """`fn(*args)` in the one writer thread; `fn` writes through `writing()`.

        `bounded=False` is for the background relays: they wait rather than fail."""
        return await self.writes.run(fn, *args, bounded=bounded)

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
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
