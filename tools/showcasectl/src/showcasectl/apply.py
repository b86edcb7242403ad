"""`apply`: roll out the current index, followed live through the same step events.

`RolloutRequested` carries no request, so the roll-out is recognised by what follows it: the
first `IndexSynced` with no requests after our publish names the generation; machine events and
the fleet's verdict for that generation (or a newer one, when the updater coalesced roll-outs)
then drive the progress, on the same scale the studios see (30 % synced, 95 % all machines).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from nats.js.client import JetStreamContext
from showcase_common import events, subjects
from showcase_common.bus import Publisher

from showcasectl.stream_reader import Start, scan

WATCHED = [
    subjects.INDEX_SYNCED,
    subjects.INDEX_SYNC_FAILED,
    subjects.MACHINE_UPDATED,
    subjects.MACHINE_UPDATE_FAILED,
    subjects.FLEET_UPDATED,
    subjects.FLEET_UPDATE_FAILED,
]


@dataclass
class Rollout:
    """What is known so far of one roll-out; `feed` it events in stream order."""

    seq: int = 0
    generation: int | None = None
    done: int = 0
    total: int | None = None
    outcome: Literal["running", "completed", "failed", "timeout"] = "running"
    message: str = "Roll-out requested; waiting for the syncer…"
    failed_machines: list[str] = field(default_factory=list)

    @property
    def progress(self) -> int:
        if self.outcome == "completed":
            return 100
        if self.generation is None:
            return 10
        return 30 + (65 * self.done // self.total if self.total else 0)

    def feed(self, event: events.Event) -> bool:
        """Take one event into account; True once the roll-out is over."""
        if self.generation is None:
            return self._before_sync(event)
        if getattr(event, "generation", -1) < self.generation:
            return False  # an older roll-out still finishing
        match event:
            case events.MachineUpdated() | events.MachineUpdateFailed():
                self.done, self.total = event.done, event.total
                verb = "updated" if isinstance(event, events.MachineUpdated) else "FAILED"
                self.message = f"Machine {event.done} of {event.total} {verb} ({event.machine_id})"
                if isinstance(event, events.MachineUpdateFailed):
                    self.failed_machines.append(event.machine_id)
            case events.FleetUpdated(generation=g):
                self.outcome, self.message = "completed", f"Generation {g} is live"
                return True
            case events.FleetUpdateFailed(generation=g, failures=failures):
                self.failed_machines = [f.machine_id for f in failures]
                self.outcome = "failed"
                self.message = f"Generation {g} failed on {', '.join(self.failed_machines)}"
                return True
        return False

    def _before_sync(self, event: events.Event) -> bool:
        match event:
            case events.IndexSynced(requests=[], snapshot=s) if not event.machine_ids:
                self.generation = s.generation
                self.message = f"Index published as generation {s.generation}; updating…"
            case events.IndexSyncFailed(requests=[], reason=reason, error=err):
                self.outcome, self.message = "failed", f"Sync failed ({reason}): {err}"
                return True
        return False

    def as_json(self) -> dict[str, Any]:
        return {
            "rollout_seq": self.seq,
            "generation": self.generation,
            "outcome": self.outcome,
            "progress": self.progress,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "failed_machines": self.failed_machines,
        }


async def request_rollout(js: JetStreamContext, requested_by: str) -> Rollout:
    ack = await Publisher(js).publish(events.RolloutRequested(requested_by=requested_by))
    return Rollout(seq=ack.seq)


async def follow(
    js: JetStreamContext,
    rollout: Rollout,
    on_change: Callable[[Rollout], None],
    *,
    timeout_s: float,
) -> Rollout:
    """Feed the roll-out the step events after its request until it is over or time is up."""

    async def watch() -> None:
        start = Start(seq=rollout.seq + 1)
        async for msg in scan(js, subjects.STREAM, WATCHED, start, follow=True):
            event = msg.event()
            if event is None:
                continue
            over = rollout.feed(event)
            on_change(rollout)
            if over:
                return

    try:
        await asyncio.wait_for(watch(), timeout_s)
    except TimeoutError:
        rollout.outcome = "timeout"
        rollout.message = f"no verdict within {timeout_s:.0f}s ({rollout.message})"
    return rollout
