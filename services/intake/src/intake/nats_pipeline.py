"""Intake's `Pipeline` port over NATS JetStream, through the runner's link: intake serves while NATS is down
(publishes raise `BusUnavailable`, the outbox keeps the rows) and delivers once it is up."""

from __future__ import annotations

import logging

from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError
from showcase_common import subjects
from showcase_common.audit import AuditLog, OperatorAction
from showcase_common.bus import Publisher
from showcase_common.bus.errors import BusUnavailable
from showcase_common.bus.link import NatsLink
from showcase_common.events import Event
from showcase_common.progress import RequestProgress

log = logging.getLogger(__name__)

TIMEOUT_S = 3.0


class NatsPipeline:
    """Intake's `Pipeline` port over a `NatsLink` (which the runner connects)."""

    def __init__(self, link: NatsLink, *, timeout_s: float = TIMEOUT_S) -> None:
        self.link = link
        self._publisher = Publisher(link.jetstream, timeout_s=timeout_s)
        self._audit = AuditLog(link.jetstream)

    @property
    def connected(self) -> bool:
        return self.link.connected

    async def publish(self, event: Event, *, msg_id: str) -> None:
        if not self.connected:
            raise BusUnavailable("not connected to NATS")
        try:
            await self._publisher.publish(event, msg_id=msg_id)
        except Exception as exc:
            raise BusUnavailable(f"publish failed: {exc}") from exc

    async def record_action(self, action: OperatorAction) -> None:
        if not self.connected:
            raise BusUnavailable("not connected to NATS")
        try:
            await self._audit.record(action)
        except Exception as exc:
            raise BusUnavailable(f"recording {action.action} failed: {exc}") from exc

    async def request_state(self, request_id: str) -> RequestProgress | None:
        if not self.connected:
            raise BusUnavailable("not connected to NATS")
        try:
            kv = await self.link.jetstream().key_value(subjects.REQUEST_STATE_BUCKET)
            entry = await kv.get(request_id)
        except (BucketNotFoundError, KeyNotFoundError, KeyDeletedError):
            return None
        except Exception as exc:
            raise BusUnavailable(f"reading request state failed: {exc}") from exc
        if not entry.value:
            return None
        return RequestProgress.model_validate_json(entry.value)
