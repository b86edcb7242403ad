"""What a running gateway holds: its collaborators, its background work and how to stop it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from progress_gateway.config import GatewaySettings
from progress_gateway.feed import Feed
from progress_gateway.store import ProgressStore

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]
Closer = Callable[[], Awaitable[None]]


@dataclass
class Runtime:
    settings: GatewaySettings
    store: ProgressStore
    feed: Feed
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closers: list[Closer] = field(default_factory=list)
    readiness: dict[str, Check] = field(default_factory=dict)

    async def checks(self) -> dict[str, bool]:
        results: dict[str, bool] = {}
        for name, check in self.readiness.items():
            try:
                results[name] = await check()
            except Exception:
                results[name] = False
        return results

    async def close(self) -> None:
        """Let the projector settle the message in hand, then release connections."""
        self.stop.set()
        for task in self.tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
        for closer in reversed(self.closers):
            try:
                await closer()
            except Exception as exc:
                log.warning("error while stopping: %s", exc)
