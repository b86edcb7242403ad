"""Deliveries and requests as the syncer's consumer loop hands them over."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from showcase_common import events
from showcase_common.bus import Delivery


@dataclass
class FakeDelivery(Delivery):
    """A delivery without a NATS message: counts heartbeats."""

    msg: Any = None
    delivered: int = 1
    heartbeats: int = field(default=0)

    @property
    def attempt(self) -> int:
        return self.delivered

    @property
    def stream_seq(self) -> int:
        return 0

    async def in_progress(self) -> None:
        self.heartbeats += 1


def request(n: int, showcase_id: int | None = None) -> events.RequestRef:
    showcase = events.ShowcaseRef(
        showcase_id=showcase_id if showcase_id is not None else n,
        year=2026,
        location_key="boston",
        key=f"show-{n}",
        name=f"Show {n}",
    )
    return events.RequestRef(
        request_id=f"r{n}", user="studio", showcase=showcase, redirect_url=f"http://x/{n}/"
    )


def created(n: int, **kwargs: Any) -> FakeDelivery:
    return FakeDelivery(events.ShowcaseCreated(request=request(n)), **kwargs)
