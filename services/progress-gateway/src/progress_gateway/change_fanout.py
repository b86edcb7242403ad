"""The change fan-out: one watch of the whole bucket per process (`BucketWatch`), fanned out to
the connections (`ChangeFanout`).

A watch per connection would cost the server one consumer per browser tab; one ordered consumer
per gateway process (delivering only new revisions) and an in-process fan-out by request id keeps
the server's load flat however many browsers are connected. The ordered consumer resumes from
the last revision it saw when the connection to NATS comes back, so no change is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext

from progress_gateway.store import Versioned, decode

log = logging.getLogger(__name__)

_KV_OPERATION = "KV-Operation"


OnChange = Callable[[str, Versioned], None]
"""Called with each change of a watched request, in order, in the event loop (it must not block:
a connection queues the change and sends it from a task of its own)."""


class Subscription:
    """One connection's view of the fan-out: the changes of the requests it watches, handed to
    its callback in order (no queue, no task per connection: thousands are open at once)."""

    __slots__ = ("_fanout", "offer", "request_ids")

    def __init__(self, fanout: ChangeFanout, request_ids: frozenset[str], offer: OnChange) -> None:
        self.request_ids = request_ids
        self._fanout = fanout
        self.offer = offer

    def close(self) -> None:
        self._fanout.unsubscribe(self)


class ChangeFanout:
    """Dispatches every stored change to the subscriptions that watch its request."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self.live = asyncio.Event()
        """Set while a source feeds it: before, a connection would miss changes."""

    def subscribe(self, request_ids: Iterable[str], offer: OnChange) -> Subscription:
        sub = Subscription(self, frozenset(request_ids), offer)
        for rid in sub.request_ids:
            self._subs[rid].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        for rid in sub.request_ids:
            watchers = self._subs.get(rid)
            if watchers is not None:
                watchers.discard(sub)
                if not watchers:
                    del self._subs[rid]

    def publish(self, request_id: str, change: Versioned) -> None:
        for sub in self._subs.get(request_id, ()):
            sub.offer(request_id, change)

    @property
    def watched(self) -> int:
        return len(self._subs)


class BucketWatch:
    """Feeds a `ChangeFanout` from the bucket's subjects through one ordered push consumer."""

    def __init__(
        self, js: Callable[[], JetStreamContext], bucket: str, fanout: ChangeFanout
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._fanout = fanout
        self._sub: JetStreamContext.PushSubscription | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """ChangeFanout until `stop` (a runner's NATS worker: NATS is up when it starts)."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def start(self) -> None:
        self._sub = await self._js().subscribe(
            f"$KV.{self._bucket}.>",
            stream=f"KV_{self._bucket}",
            cb=self._on_msg,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.NEW,
            idle_heartbeat=2.0,
        )
        self._fanout.live.set()

    async def stop(self) -> None:
        self._fanout.live.clear()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _on_msg(self, msg: Msg) -> None:
        if msg.headers and msg.headers.get(_KV_OPERATION) in ("DEL", "PURGE"):
            return
        request_id = msg.subject.removeprefix(f"$KV.{self._bucket}.")
        try:
            change = decode(msg.data, msg.metadata.sequence.stream)
        except ValueError as exc:
            log.warning("ignoring an undecodable state of %s: %s", request_id, exc)
            return
        if change is not None:
            self._fanout.publish(request_id, change)
