"""The projector: the consumer-loop batch handler that folds each step event into every request it
covers."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence

from showcase_common.bus import Delivery, PermanentError, RetryableError
from showcase_common.events import RequestRef, request_refs

from progress_gateway import metrics
from progress_gateway.projection import (
    Links,
    ProjectedProgress,
    RecentDurations,
    apply,
    observed,
)
from progress_gateway.store import (
    InvalidRequestId,
    ProgressStore,
    StaleRevision,
    StoreUnavailable,
    Versioned,
)

log = logging.getLogger(__name__)

REMEMBERED_REQUESTS = 1024
"""Requests whose last written state the projector keeps (the ones in progress now)."""

MAX_CAS_ATTEMPTS = 20
"""Compare-and-set rounds before giving the message back (only under heavy contention)."""


class Projector:
    def __init__(
        self, store: ProgressStore, links: Links, durations: RecentDurations | None = None
    ) -> None:
        self._store = store
        self._links = links
        self.durations = durations or RecentDurations()
        self._written: OrderedDict[str, Versioned] = OrderedDict()
        """What this projector last wrote for the most recent requests, with its revision: the
        next event of a request is applied on it without reading the bucket first (a round trip
        per event saved). Compare-and-set keeps it safe: when anyone else wrote since, the
        write fails and the request is read again."""

    async def handle(self, delivery: Delivery) -> None:
        """One event alone (`handle_batch` of one)."""
        await self.handle_batch([delivery])

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Fold each request's events of one fetch, in stream order, into one write; the loop
        acks them once all are stored.

        A projector that fell behind (32 machines finishing within a few milliseconds, each a
        read and a write of the request's state) catches up with one read and one write per
        request instead of one per event, so the roll-out's verdict behind them is shown
        sooner; an event that comes alone is one write, as before. The folded state is what
        writing each event in turn would have ended with (`apply` is pure)."""
        by_request: dict[str, list[tuple[Delivery, RequestRef]]] = {}
        for delivery in deliveries:
            for ref in request_refs(delivery.event):
                by_request.setdefault(ref.request_id, []).append((delivery, ref))
        for request_id, steps in by_request.items():
            try:
                await self._project(request_id, steps)
            except StoreUnavailable as exc:
                raise RetryableError(f"progress store unavailable: {exc}") from exc
            except InvalidRequestId as exc:
                raise PermanentError(f"request id cannot be stored: {exc}") from exc

    async def _project(self, request_id: str, steps: list[tuple[Delivery, RequestRef]]) -> None:
        stored = self._written.get(request_id)
        for _ in range(MAX_CAS_ATTEMPTS):
            if stored is None:
                stored = await self._store.read(request_id)
            current = stored.progress if stored else None
            nxt, learned = self._fold(current, steps)
            if nxt is None:
                metrics.PROJECTIONS.labels("skipped").inc()
                return  # older than what is stored, or no change: nothing to write
            try:
                revision = await self._store.write(nxt, stored.revision if stored else None)
            except StaleRevision:
                metrics.PROJECTIONS.labels("conflict").inc()
                stored = None  # another replica wrote first: re-read and re-apply
                self._written.pop(request_id, None)
                continue
            self._remember(Versioned(nxt, revision))
            metrics.PROJECTIONS.labels("written").inc()
            for sample in learned:
                self.durations.learn(*sample)
            log.info("request %s: %s %d%% (%s)", request_id, nxt.status, nxt.progress, nxt.step)
            return
        raise RetryableError(f"request {request_id}: too much write contention", delay_s=0.5)

    def _remember(self, written: Versioned) -> None:
        self._written[written.progress.request_id] = written
        self._written.move_to_end(written.progress.request_id)
        while len(self._written) > REMEMBERED_REQUESTS:
            self._written.popitem(last=False)

    def _fold(
        self, current: ProjectedProgress | None, steps: list[tuple[Delivery, RequestRef]]
    ) -> tuple[ProjectedProgress | None, list[tuple[str, float]]]:
        """The state after every step that changes it (None: none does), and the durations
        they reveal (learned once the state is stored)."""
        state, changed, learned = current, False, []
        for delivery, ref in steps:
            nxt = apply(
                state, delivery.event, ref, delivery.stream_seq, self._links, self.durations
            )
            if nxt is None:
                continue
            if (sample := observed(state, delivery.event)) is not None:
                learned.append(sample)
            state, changed = nxt, True
        return (state if changed else None), learned
