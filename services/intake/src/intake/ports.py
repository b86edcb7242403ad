"""The ports intake's use cases lean on; adapters implement them, tests use the fakes in
`tests/support/fakes`. E-mail goes through the shared `showcase_common.mail.Mailer`."""

from __future__ import annotations

from typing import Protocol

from showcase_common.audit import OperatorAction
from showcase_common.events import Event
from showcase_common.progress import RequestProgress


class Pipeline(Protocol):
    """The rest of the pipeline as intake reaches it over the bus (NATS JetStream): publishing
    events, recording operator actions, reading a request's state."""

    @property
    def connected(self) -> bool: ...

    async def publish(self, event: Event, *, msg_id: str) -> None:
        """Publish and wait for the PubAck; `BusUnavailable` when it did not come."""

    async def record_action(self, action: OperatorAction) -> None:
        """Record an operator action (a Retry) in the audit trail; `BusUnavailable` if not."""

    async def request_state(self, request_id: str) -> RequestProgress | None:
        """The gateway's latest state of a request, None if it has none yet."""
