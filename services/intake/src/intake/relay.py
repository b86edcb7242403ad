"""The outbox relay: publishes unsent outbox rows, marking each sent only after its PubAck.

Woken right after a commit that adds a row, and polling every few seconds anyway (a wake-up can
be missed by a crash; a poll cannot). The row id is the Nats-Msg-Id, so a row published twice
(crash between PubAck and marking, or two intake processes) is kept once by JetStream.

The rows of a pass (up to `batch`, oldest first) are sent in order without waiting for each
PubAck in turn, and those acknowledged are marked sent together in one write (one transaction
per pass, not per row: at hundreds of submissions a second a write per row was as many
transactions as the submissions themselves). A pass with a failure marks what was acknowledged
and stops; the rest wait for the next pass (each row is its own request: no order between
requests is promised, and a re-sent row is de-duplicated by its id).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
from collections.abc import Callable

from showcase_common import events
from showcase_common.bus.errors import BusUnavailable
from sqlmodel import col, func, select

from intake import metrics
from intake.background import PollingRelay
from intake.db_lanes import Database
from intake.loop_reads import UNSENT, LoopReads, Unsent
from intake.models import Outbox
from intake.ports import Pipeline
from intake.submissions import stored

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


class OutboxRelay(PollingRelay):
    def __init__(
        self,
        db: Database,
        pipeline: Pipeline,
        clock: Clock,
        *,
        reads: LoopReads | None = None,
        poll_s: float = 2.0,
        batch: int = 100,
    ) -> None:
        super().__init__(poll_s)
        self._db, self._pipeline, self._clock = db, pipeline, clock
        self._reads = reads
        self._batch = batch

    async def drain(self) -> int:
        """Publish every unsent row, oldest first; stops after a pass with a failure. Returns
        the count."""
        sent = 0
        while True:
            rows = await self._next_rows()
            if not rows:
                metrics.OUTBOX_UNSENT.set(0)
                return sent
            # Sent in order without waiting for each PubAck in turn: the connection's flusher
            # writes them in a few syscalls instead of one per row.
            outcomes = await asyncio.gather(
                *(self._publish(row) for row in rows), return_exceptions=True
            )
            acked = [row for row, error in zip(rows, outcomes, strict=True) if error is None]
            if acked:
                await self._db.write(self._mark_sent, acked, bounded=False)
            sent += len(acked)
            failures = [error for error in outcomes if error is not None]
            if failures:
                unexpected = [e for e in failures if not isinstance(e, BusUnavailable)]
                if unexpected:
                    raise unexpected[0]
                log.info("outbox: %d row(s) wait for the bus (%s)", len(failures), failures[0])
                metrics.OUTBOX_UNSENT.set(await self._db.read(self._count_unsent, bounded=False))
                return sent
            if len(rows) < self._batch:  # that was all; rows committed since wake the relay
                metrics.OUTBOX_UNSENT.set(0)
                return sent

    async def _publish(self, row: Unsent) -> None:
        await self._pipeline.publish(
            events.decode(row.subject, row.payload.encode()), msg_id=row.id
        )

    async def _next_rows(self) -> list[Unsent]:
        """Read in the event loop (`intake.loop_reads`); in a reader thread when the file is
        locked at this moment (or no loop reader was given)."""
        if self._reads is not None:
            with contextlib.suppress(sqlite3.OperationalError):
                return self._reads.unsent(self._batch)
        return await self._db.read(self._unsent, bounded=False)

    def _unsent(self) -> list[Unsent]:
        with self._db.session() as session:
            rows = session.connection().exec_driver_sql(UNSENT, (self._batch,))
            return [Unsent(*row) for row in rows]

    def _count_unsent(self) -> int:
        with self._db.session() as session:
            statement = (
                select(func.count()).select_from(Outbox).where(col(Outbox.sent_at).is_(None))
            )
            return session.exec(statement).one()

    def _mark_sent(self, rows: list[Unsent]) -> None:
        """Each row sent, its request (still queued) published: one transaction for all."""
        now = stored(self._clock())
        with self._db.writing() as session:
            conn = session.connection()
            conn.exec_driver_sql(
                "UPDATE pipeline_outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                [(now, row.id) for row in rows],
            )
            published = [(now, row.request_id) for row in rows if row.request_id]
            if published:
                conn.exec_driver_sql(
                    "UPDATE pipeline_requests SET status = 'published', updated_at = ?"
                    " WHERE id = ? AND status = 'queued'",
                    published,
                )
