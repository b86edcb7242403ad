"""The two small reads of every submission's path, run in the event loop's own thread: a
login's row (id, userid, htpasswd line, sites) and the outbox rows the relay is to publish.

Every request with HTTP Basic needs its user's current htpasswd line: the verified-credentials
cache (`credential_cache`) answers only for the very line it verified, so a changed password
refuses the old one at once. The relay reads the unsent outbox rows after every commit. Each is
one small SELECT (tens of microseconds); sending it to a reader thread cost more than the query
itself (a queue, a condition, a call back into the loop: measured ~10 % of intake's busy time
under 16 clients). So they run right here, on a read-only autocommit connection of this thread
(each SELECT sees the latest commit; WAL readers do not wait for the writer). Should the file
be locked anyway (a checkpoint restarting the log, a recovery), the connection does not wait
(busy timeout 0): the read raises `sqlite3.OperationalError` and the caller reads in a reader
thread instead.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from showcase_common.index.models import User


@dataclass(frozen=True)
class LoginRow:
    id: int
    userid: str
    password: str | None
    sites: str | None

    def user(self) -> User:
        """The `User` the routes are given (only these columns are read from it)."""
        return User(id=self.id, userid=self.userid, password=self.password, sites=self.sites)


class Unsent(NamedTuple):
    """An outbox row not yet acknowledged by JetStream."""

    id: str
    subject: str
    payload: str
    request_id: str | None


_LOGIN = "SELECT id, userid, password, sites FROM users WHERE userid = ? ORDER BY id LIMIT 1"
"""The first row of that userid, as the ORM lookup (`.first()`) found it."""
UNSENT = (
    "SELECT id, subject, payload, request_id FROM pipeline_outbox"
    " WHERE sent_at IS NULL ORDER BY created_at, id LIMIT ?"
)
"""The oldest unsent outbox rows (at most the bound given)."""


class LoopReads:
    """Per-thread read-only connections to the index; opened on first use (the file is there:
    intake checked it before serving)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()

    def login(self, userid: str) -> LoginRow | None:
        """The login's row, or None; `sqlite3.OperationalError` when the file is locked."""
        row = self._connection().execute(_LOGIN, (userid,)).fetchone()
        return None if row is None else LoginRow(*row)

    def unsent(self, limit: int) -> list[Unsent]:
        """The oldest unsent outbox rows; `sqlite3.OperationalError` when the file is locked."""
        return [Unsent(*row) for row in self._connection().execute(UNSENT, (limit,))]

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._path, timeout=0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
