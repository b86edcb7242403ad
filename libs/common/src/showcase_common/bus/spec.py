"""Consumers declared, not built: a service's handler table, run by the runner.

A service's `build` lists what it consumes as `ConsumerSpec`s on `Service.consumers`:

    ConsumerSpec(
        durable=subjects.SYNCER_DURABLE,
        handles_batches={ShowcaseCreated: handler.handle_batch, RetryRequested: ...},
        options=consumer_options(settings.consumer),
    )

`handles` maps an event type to a per-message handler (`Delivery -> None`); `handles_batches`
to a batch handler (every message of one fetch of those types at once, settled together: the
syncer covers them with one snapshot). A spec has exactly one of the two. The filter subjects
are the event classes' own `subject`s, so a table cannot name a subject nobody publishes on, and
a handler is never handed an event type it did not ask for. The runner makes the `Consumer`
(THE loop, `bus.consumer`) once NATS is up; `showcasectl topology` and `docs/ARCHITECTURE.md`
print the tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.js.client import JetStreamContext

from showcase_common import subjects
from showcase_common.backoff import Backoff
from showcase_common.bus.consumer import Consumer, ConsumerOptions, Delivery
from showcase_common.bus.errors import PermanentError
from showcase_common.events import Event
from showcase_common.settings import ConsumerSettings

__all__ = ["BatchHandler", "ConsumerSpec", "Handler", "consumer_options", "describe"]

Handler = Callable[[Delivery], Awaitable[None]]
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]


def consumer_options(
    settings: ConsumerSettings, *, backoff: Backoff | None = None
) -> ConsumerOptions:
    """The loop's options from a service's `ConsumerSettings` (its `<PREFIX>_*` variables)."""
    return ConsumerOptions(
        ack_wait_s=settings.ack_wait_s,
        max_deliver=settings.max_deliver,
        batch_size=settings.batch_size,
        fetch_timeout_s=settings.fetch_timeout_s,
        heartbeat_s=settings.heartbeat,
        backoff=backoff or Backoff(),
    )


@dataclass
class ConsumerSpec:
    """One durable consumer: its name, its handler table and the loop's options."""

    durable: str
    handles: Mapping[type[Event], Handler] = field(default_factory=dict)
    handles_batches: Mapping[type[Event], BatchHandler] = field(default_factory=dict)
    options: ConsumerOptions = field(default_factory=ConsumerOptions)
    stream: str = subjects.STREAM
    _running: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if bool(self.handles) == bool(self.handles_batches):
            raise ValueError(f"{self.durable}: give exactly one of handles and handles_batches")

    @property
    def table(self) -> Mapping[type[Event], Callable[..., Awaitable[None]]]:
        """Event type → handler, whichever kind this spec has."""
        return self.handles or self.handles_batches

    @property
    def event_types(self) -> list[type[Event]]:
        return sorted(self.table, key=lambda t: t.subject)

    @property
    def filter_subjects(self) -> list[str]:
        """The subjects of the event types in the table: the consumer's filter."""
        return [t.subject for t in self.event_types]

    @property
    def batched(self) -> bool:
        return bool(self.handles_batches)

    async def handle(self, delivery: Delivery) -> None:
        """Per-message dispatch: the handler of the event's type."""
        await self._handler(self.handles, delivery)(delivery)

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Batch dispatch: each batch handler once, with its deliveries in stream order."""
        groups: dict[BatchHandler, list[Delivery]] = {}
        for delivery in deliveries:
            groups.setdefault(self._handler(self.handles_batches, delivery), []).append(delivery)
        for handler, group in groups.items():
            await handler(group)

    def _handler(self, table: Mapping[type[Event], Any], delivery: Delivery) -> Any:
        handler = table.get(type(delivery.event))
        if handler is None:  # only a stream filter wider than the table could bring one
            raise PermanentError(
                f"{self.durable} has no handler for {type(delivery.event).__name__}"
            )
        return handler

    def consumer(self, js: JetStreamContext) -> Consumer:
        """THE loop (`bus.consumer.Consumer`) over this table."""
        if self.batched:
            return Consumer(
                js,
                self.stream,
                self.durable,
                self.filter_subjects,
                batch_handler=self.handle_batch,
                options=self.options,
            )
        return Consumer(
            js,
            self.stream,
            self.durable,
            self.filter_subjects,
            handler=self.handle,
            options=self.options,
        )

    async def run(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        """Consume until `stop` (the runner calls it once NATS is up)."""
        self._running = True
        try:
            await self.consumer(js).run(stop)
        finally:
            self._running = False

    async def check(self) -> str:
        """Readiness: "ok" while the loop runs."""
        return "ok" if self._running else "stopped"

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(durable, subject, event type, handler) for each entry, for the topology table."""
        kind = " (batch)" if self.batched else ""
        return [
            (self.durable, t.subject, t.__name__, describe(self.table[t]) + kind)
            for t in self.event_types
        ]


def describe(handler: Callable[..., object]) -> str:
    """`module.Class.method` of a handler (a callable object: its class)."""
    target: Any = handler
    name = getattr(target, "__qualname__", None)
    if name is None:  # a callable instance
        target = type(handler)
        name = target.__qualname__
    return f"{target.__module__}.{name}"
