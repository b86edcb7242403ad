"""Publishing events with `Nats-Msg-Id`, so a re-publish of the same fact is de-duplicated."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from nats.js.api import PubAck
from nats.js.client import JetStreamContext

from showcase_common.bus.metrics import EVENTS_PUBLISHED
from showcase_common.events import Event, encode

log = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"


class EventPublisher(Protocol):
    """The port every publishing service leans on; `Publisher` is the JetStream adapter."""

    async def publish(self, event: Event, *, msg_id: str | None = None) -> object:
        """Publish `event` and return once the bus has it (raises when it did not take it)."""


class Publisher:
    """Publishes events to JetStream and waits for the PubAck.

    `js` is a JetStream context, or a function returning the current one (the runner's
    `NatsLink.jetstream`, which raises `ConnectionError` while NATS is not yet reached).
    """

    def __init__(
        self,
        js: JetStreamContext | Callable[[], JetStreamContext],
        *,
        timeout_s: float = 5.0,
    ) -> None:
        self._js = js if callable(js) else (lambda: js)
        self._timeout_s = timeout_s

    async def publish(self, event: Event, *, msg_id: str | None = None) -> PubAck:
        """Publish `event` on its subject; `msg_id` defaults to the event's id.

        Pass a `msg_id` derived from the fact (e.g. "synced:42") when several processes may
        publish the same fact: JetStream then keeps exactly one.
        """
        headers = {MSG_ID_HEADER: msg_id or event.event_id}
        ack = await self._js().publish(
            event.subject, encode(event), timeout=self._timeout_s, headers=headers
        )
        log.debug("published %s seq=%s duplicate=%s", event.subject, ack.seq, ack.duplicate)
        EVENTS_PUBLISHED.labels(event.subject, str(bool(ack.duplicate)).lower()).inc()
        return ack
