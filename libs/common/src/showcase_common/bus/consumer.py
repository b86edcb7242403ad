"""THE pull-consumer loop: fetch → decode → handler → ack.

- a `RetryableError` (or any unexpected exception) naks with a capped exponential delay, so a
  message is tried again later and, after `max_deliver` deliveries, reaches the dead letters;
- a `PermanentError`, an undecodable message, or a failure on the last allowed delivery is copied
  to the dead-letter stream with its error, then terminated;
- until a fetched message is settled, `in_progress()` is sent for it every `heartbeat_s`, so a
  long step keeps its lease, and so do the messages queued behind it. The ack wait is short
  (2 s): a consumer that dies mid-step (SIGKILL, a lost machine) stops sending heartbeats and
  its message goes to another replica (or its own successor) about 2 s later, while a live one,
  however slow, keeps it (four heartbeats per ack wait);
- `stop` (set on SIGTERM/SIGINT) ends the loop after the message in hand is settled.

In batch mode the handler receives every message of one fetch at once (the syncer covers them all
with one snapshot) and they are settled together. A batch that fails for good (a
`PermanentError`, or a failure on the last allowed delivery) is not dead-lettered whole: each of
its messages is handed to the batch handler again, alone, and settled on its own, so only the
bad one reaches the dead letters and its neighbours are processed. (The handler need not say which
message was bad; re-running it per message finds out, and a failure is rare enough that the extra
calls cost nothing.) Bad data is mostly caught earlier still: an event that does not validate
(`showcase_common.events`: unsafe request ids, out-of-range numbers) is dead-lettered alone by
`_decode`, before any handler runs.

After every reconnect to NATS the loop pulls on a fresh subscription (a new inbox): a restarted
server has forgotten the pull requests of the old one, and their late or stray replies must not be
paired with a new fetch. A fetch that is waiting when the connection is re-established is
abandoned at once rather than left to run out its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from showcase_common import events
from showcase_common.backoff import Backoff, wait_unless_stopped
from showcase_common.bus.connection import next_reconnect, reconnects
from showcase_common.bus.dead_letters import dead_letter
from showcase_common.bus.errors import PermanentError, RetryableError
from showcase_common.bus.metrics import EVENTS_HANDLED, HANDLER_SECONDS
from showcase_common.bus.streams import ensure_consumer
from showcase_common.logs import request_context

log = logging.getLogger(__name__)
PullSubscription = JetStreamContext.PullSubscription


@dataclass
class Delivery:
    """One decoded message and what the handler may need of its envelope."""

    event: events.Event
    msg: Msg

    @property
    def attempt(self) -> int:
        return self.msg.metadata.num_delivered

    @property
    def stream_seq(self) -> int:
        return self.msg.metadata.sequence.stream

    @property
    def request_id(self) -> str | None:
        return _first_request_id(self.event)

    async def in_progress(self) -> None:
        await self.msg.in_progress()


Handler = Callable[[Delivery], Awaitable[None]]
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]


ACK_WAIT_S = 2.0
"""How long a delivered message stays with a consumer that sends nothing (no ack, no heartbeat)."""


@dataclass
class ConsumerOptions:
    # A crashed consumer's messages come back after `ack_wait_s`, so it is short; a long handler
    # keeps its lease with a heartbeat every `heartbeat_s` (four chances within the wait).
    ack_wait_s: float = ACK_WAIT_S
    max_deliver: int = 10
    batch_size: int = 1
    fetch_timeout_s: float = 1.0
    heartbeat_s: float = ACK_WAIT_S / 4
    backoff: Backoff = field(default_factory=Backoff)
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
    """Between heartbeats (tests pass one they control)."""


class Consumer:
    """A durable pull consumer bound to one handler (or one batch handler)."""

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        durable: str,
        filter_subjects: Sequence[str],
        *,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        options: ConsumerOptions | None = None,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler and batch_handler")
        self._js = js
        self._stream = stream
        self._durable = durable
        self._subjects = list(filter_subjects)
        self._handler = handler
        self._batch_handler = batch_handler
        self.options = options or ConsumerOptions()
        self._timer = HANDLER_SECONDS.labels(durable)
        self.inbox: str | None = None
        """The inbox prefix of the current pull subscription (a new one after each reconnect)."""
        self._subscribed_at = -1  # the client's reconnect count when the subscription was made

    async def declare(self) -> None:
        await ensure_consumer(
            self._js,
            self._durable,
            self._subjects,
            ack_wait_s=self.options.ack_wait_s,
            max_deliver=self.options.max_deliver,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set."""
        await self.declare()
        sub = await self._subscribe()
        log.info("consuming %s as %s", self._subjects, self._durable)
        while not stop.is_set():
            if reconnects(self._js) != self._subscribed_at:
                log.info("reconnected to NATS; %s pulls on a fresh subscription", self._durable)
                sub = await self._resubscribe(sub, stop)
                continue
            try:
                msgs = await self._fetch(sub)
            except TimeoutError:
                continue
            except Exception as exc:  # the subscription may be dead after a server restart
                log.warning("fetch failed (%s); re-subscribing", exc)
                await wait_unless_stopped(stop, 1.0)
                sub = await self._resubscribe(sub, stop)
                continue
            await self.process(msgs)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

    async def process(self, msgs: Sequence[Msg]) -> None:
        """Decode, dispatch and settle one fetched batch."""
        deliveries = [d for m in msgs if (d := await self._decode(m)) is not None]
        if not deliveries:
            return
        # Every fetched message keeps its lease until settled, including those still waiting
        # their turn behind a slow one (one handler at a time in per-message mode).
        unsettled = list(deliveries)
        heartbeat = asyncio.create_task(self._heartbeat(unsettled))
        try:
            if self._batch_handler is not None:
                await self._process_batch(deliveries, unsettled)
            else:
                assert self._handler is not None
                for delivery in deliveries:
                    await self._settle([delivery], self._handler(delivery))
                    unsettled.remove(delivery)
        finally:
            heartbeat.cancel()

    async def _process_batch(self, deliveries: list[Delivery], unsettled: list[Delivery]) -> None:
        assert self._batch_handler is not None
        split = len(deliveries) > 1
        if await self._settle(deliveries, self._batch_handler(deliveries), split=split):
            return
        log.warning("batch of %s failed for good; handling each alone", _describe(deliveries))
        for delivery in deliveries:
            await self._settle([delivery], self._batch_handler([delivery]))
            unsettled.remove(delivery)

    async def _fetch(self, sub: PullSubscription) -> list[Msg]:
        """One fetch, abandoned (TimeoutError) if the client reconnects while it waits."""
        reconnected = next_reconnect(self._js)  # registered first: no reconnect slips between
        if reconnects(self._js) != self._subscribed_at:
            if reconnected is not None:
                reconnected.cancel()
            raise TimeoutError("reconnected since subscribing")
        fetch: asyncio.Future[list[Msg]] = asyncio.ensure_future(
            sub.fetch(self.options.batch_size, timeout=self.options.fetch_timeout_s)
        )
        if reconnected is None:  # a client not made by `connect`: the count is checked each time
            return await fetch
        try:
            either: set[asyncio.Future[Any]] = {fetch, reconnected}  # results of two types
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled: take the fetch down with us
            fetch.cancel()
            raise
        finally:
            reconnected.cancel()
        if fetch.done():
            return fetch.result()
        fetch.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await fetch
        raise TimeoutError("reconnected while fetching")

    async def _decode(self, msg: Msg) -> Delivery | None:
        try:
            return Delivery(events.decode(msg.subject, msg.data), msg)
        except events.UndecodableEvent as exc:
            log.error("dead-lettering undecodable message on %s: %s", msg.subject, exc)
            await dead_letter(self._js, msg, self._durable, str(exc))
            await msg.term()
            EVENTS_HANDLED.labels(self._durable, msg.subject, "dead_lettered").inc()
            return None

    async def _settle(
        self, deliveries: list[Delivery], work: Awaitable[None], *, split: bool = False
    ) -> bool:
        """Run `work` and settle `deliveries` by its outcome. With `split`, a failure for good
        leaves them unsettled and answers False (the caller retries each alone)."""
        with request_context(deliveries[0].request_id), self._timer.time():
            try:
                await work
            except PermanentError as exc:
                if split:
                    return False
                log.error("permanent failure of %s: %s", _describe(deliveries), exc)
                await self._give_up(deliveries, f"permanent: {exc}")
            except Exception as exc:
                if max(d.attempt for d in deliveries) >= self.options.max_deliver:
                    if split:
                        return False
                    log.error("last delivery of %s failed: %s", _describe(deliveries), exc)
                    await self._give_up(deliveries, f"{type(exc).__name__}: {exc}")
                else:
                    await self._nak(deliveries, exc)
            else:
                await _each(deliveries, lambda d: d.msg.ack_sync())
                self._count(deliveries, "acked")
        return True

    def _count(self, deliveries: Sequence[Delivery], outcome: str) -> None:
        for delivery in deliveries:
            EVENTS_HANDLED.labels(self._durable, delivery.event.subject, outcome).inc()

    async def _give_up(self, deliveries: list[Delivery], error: str) -> None:
        for delivery in deliveries:
            await dead_letter(self._js, delivery.msg, self._durable, error)
        await _each(deliveries, lambda d: d.msg.term())
        self._count(deliveries, "dead_lettered")

    async def _nak(self, deliveries: list[Delivery], exc: Exception) -> None:
        attempt = max(d.attempt for d in deliveries)
        explicit = exc.delay_s if isinstance(exc, RetryableError) else None
        delay = explicit if explicit is not None else self.options.backoff.delay(attempt)
        logger = log.warning if isinstance(exc, RetryableError) else log.exception
        logger(
            "delivery %d of %s failed (%s); retrying in %.1fs",
            attempt,
            _describe(deliveries),
            exc,
            delay,
        )
        await _each(deliveries, lambda d: d.msg.nak(delay=delay))
        self._count(deliveries, "retried")

    async def _heartbeat(self, deliveries: list[Delivery]) -> None:
        """`in_progress()` for each of `deliveries` (a live list) every `heartbeat_s`."""
        while True:
            await self.options.sleep(self.options.heartbeat_s)
            await _each(list(deliveries), lambda d: d.in_progress())

    async def _subscribe(self) -> PullSubscription:
        count = reconnects(self._js)
        inbox = self._js._nc.new_inbox()  # a fresh inbox: no reply to an older pull lands here
        sub = await self._js.pull_subscribe_bind(
            durable=self._durable, stream=self._stream, inbox_prefix=f"{inbox}.".encode()
        )
        self.inbox, self._subscribed_at = inbox, count
        return sub

    async def _resubscribe(self, old: PullSubscription, stop: asyncio.Event) -> PullSubscription:
        with contextlib.suppress(Exception):
            await old.unsubscribe()
        while not stop.is_set():
            try:
                await self.declare()
                return await self._subscribe()
            except Exception as exc:
                log.warning("re-subscribing %s failed (%s)", self._durable, exc)
                await wait_unless_stopped(stop, 2.0)
        return old


async def _each(
    deliveries: Sequence[Delivery], action: Callable[[Delivery], Awaitable[object]]
) -> None:
    """`action` on every delivery at once: a batch is settled in one round trip to the server,
    not one per message (the next fetch waits for it)."""
    outcomes = await asyncio.gather(*(action(d) for d in deliveries), return_exceptions=True)
    for delivery, outcome in zip(deliveries, outcomes, strict=True):
        if isinstance(outcome, Exception):  # NATS away while settling: redelivery covers it
            log.warning("could not settle message seq=%s: %s", delivery.stream_seq, outcome)
        elif isinstance(outcome, BaseException):
            raise outcome


def _describe(deliveries: Sequence[Delivery]) -> str:
    first = deliveries[0]
    more = f" (+{len(deliveries) - 1} more)" if len(deliveries) > 1 else ""
    return f"{first.event.subject} seq={first.stream_seq}{more}"


def _first_request_id(event: events.Event) -> str | None:
    request = getattr(event, "request", None)
    if request is not None:
        return str(request.request_id)
    requests = getattr(event, "requests", None)
    return str(requests[0].request_id) if requests else None
