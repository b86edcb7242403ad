"""The projector: the consumer-loop handler that folds each step event into every request it covers."""

from __future__ import annotations

import logging

from showcase_common.bus import Delivery, PermanentError, RetryableError
from showcase_common.events import RequestRef, request_refs

from progress_gateway import metrics
from progress_gateway.projection import (
    Links,
    RecentDurations,
    apply,
    observed,
)
from progress_gateway.store import (
    InvalidRequestId,
    ProgressStore,
    StaleRevision,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

MAX_CAS_ATTEMPTS = 20
"""Compare-and-set rounds before giving the message back (only under heavy contention)."""


class Projector:
    def __init__(
        self, store: ProgressStore, links: Links, durations: RecentDurations | None = None
    ) -> None:
        self._store = store
        self._links = links
        self.durations = durations or RecentDurations()

    async def handle(self, delivery: Delivery) -> None:
        """Apply one event to each of its requests; the loop acks once all are stored."""
        for ref in request_refs(delivery.event):
            try:
                await self._project(delivery, ref)
            except StoreUnavailable as exc:
                raise RetryableError(f"progress store unavailable: {exc}") from exc
            except InvalidRequestId as exc:
                raise PermanentError(f"request id cannot be stored: {exc}") from exc

    async def _project(self, delivery: Delivery, ref: RequestRef) -> None:
        for _ in range(MAX_CAS_ATTEMPTS):
            stored = await self._store.read(ref.request_id)
            current = stored.progress if stored else None
            nxt = apply(
                current, delivery.event, ref, delivery.stream_seq, self._links, self.durations
            )
            if nxt is None:
                metrics.PROJECTIONS.labels("skipped").inc()
                return  # older than what is stored, or no change: nothing to write
            try:
                await self._store.write(nxt, stored.revision if stored else None)
            except StaleRevision:
                metrics.PROJECTIONS.labels("conflict").inc()
                continue  # another replica wrote first: re-read and re-apply
            metrics.PROJECTIONS.labels("written").inc()
            if (sample := observed(current, delivery.event)) is not None:
                self.durations.learn(*sample)
            log.info("request %s: %s %d%% (%s)", ref.request_id, nxt.status, nxt.progress, nxt.step)
            return
        raise RetryableError(f"request {ref.request_id}: too much write contention", delay_s=0.5)
