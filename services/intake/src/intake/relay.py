"""The outbox relay: publishes unsent outbox rows, marking each sent only after its PubAck.

Woken right after a commit that adds a row, and polling every few seconds anyway (a wake-up can
be missed by a crash; a poll cannot). The row id is the Nats-Msg-Id, so a row published twice
(crash between PubAck and marking, or two intake processes) is kept once by JetStream.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from showcase_common import events
from showcase_common.bus.errors import BusUnavailable
from sqlmodel import col, func, select

from intake import metrics
from intake.background import PollingRelay
from intake.db_lanes import Database
from intake.models import Outbox, Request
from intake.ports import Pipeline

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


class OutboxRelay(PollingRelay):
    def __init__(
        self,
        db: Database,
        pipeline: Pipeline,
        clock: Clock,
        *,
        poll_s: float = 2.0,
        batch: int = 100,
    ) -> None:
        super().__init__(poll_s)
        self._db, self._pipeline, self._clock = db, pipeline, clock
        self._batch = batch

    async def drain(self) -> int:
        """Publish every unsent row, oldest first; stops at the first failure. Returns the count."""
        sent = 0
        while True:
            rows = await self._db.read(self._unsent, bounded=False)
            if not rows:
                metrics.OUTBOX_UNSENT.set(0)
                return sent
            for row in rows:
                try:
                    await self._pipeline.publish(
                        events.decode(row.subject, row.payload.encode()), msg_id=row.id
                    )
                except BusUnavailable as exc:
                    log.info("outbox: %d row(s) wait for the bus (%s)", len(rows), exc)
                    metrics.OUTBOX_UNSENT.set(
                        await self._db.read(self._count_unsent, bounded=False)
                    )
                    return sent
                await self._db.write(self._mark_sent, row, bounded=False)
                sent += 1

    def _unsent(self) -> list[Outbox]:
        with self._db.session() as session:
            statement = (
                select(Outbox)
                .where(col(Outbox.sent_at).is_(None))
                .order_by(col(Outbox.created_at), col(Outbox.id))
                .limit(self._batch)
            )
            return list(session.exec(statement))

    def _count_unsent(self) -> int:
        with self._db.session() as session:
            statement = (
                select(func.count()).select_from(Outbox).where(col(Outbox.sent_at).is_(None))
            )
            return session.exec(statement).one()

    def _mark_sent(self, row: Outbox) -> None:
        now = self._clock()
        with self._db.writing() as session:
            stored = session.get(Outbox, row.id)
            if stored is None or stored.sent_at is not None:
                return
            stored.sent_at = now
            session.add(stored)
            request = session.get(Request, row.request_id) if row.request_id else None
            if request is not None and request.status == "queued":
                request.status, request.updated_at = "published", now
                session.add(request)
