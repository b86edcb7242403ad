"""What one roll-out covers: the newest snapshot of a batch, for every request in it.

A batch holds two kinds of ask: `IndexSynced` (a new generation, for the whole fleet) and
`MachinesRetryRequested` (the newest generation again, for a request's failed machines).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from showcase_common.events import IndexSynced, MachinesRetryRequested, RequestRef, Snapshot

from machine_updater.truth import ExpectedPage


@dataclass(frozen=True)
class Ask:
    """One event's ask: this snapshot for these requests, on these machines."""

    snapshot: Snapshot
    requests: tuple[RequestRef, ...]
    machine_ids: frozenset[str] | None
    """None: the whole fleet."""
    event_id: str

    @classmethod
    def synced(cls, event: IndexSynced) -> Ask:
        # Only IndexSynced written before MachinesRetryRequested existed name machines.
        machines = frozenset(event.machine_ids) if event.machine_ids else None
        return cls(event.snapshot, tuple(event.requests), machines, event.event_id)

    @classmethod
    def retry(cls, event: MachinesRetryRequested, newest: Snapshot) -> Ask:
        machines = frozenset(event.machine_ids) if event.machine_ids else None
        return cls(newest, (event.request,), machines, event.event_id)


@dataclass(frozen=True)
class Plan:
    """One roll-out: the newest snapshot of a batch, for every request the batch covers."""

    snapshot: Snapshot
    requests: tuple[RequestRef, ...]
    machine_ids: frozenset[str] | None
    """None: the whole fleet; otherwise only these machines (a retry)."""
    rollout_id: str
    """Derived from the events, so a redelivered batch publishes the same msg ids."""

    @property
    def generation(self) -> int:
        return self.snapshot.generation

    @property
    def showcase_ids(self) -> list[int]:
        """Sent to the agents: one beside the Rails app checks these showcases' pages."""
        return sorted({r.showcase.showcase_id for r in self.requests})

    @property
    def paths(self) -> list[str]:
        return sorted({r.showcase.path for r in self.requests})

    @property
    def pages(self) -> list[ExpectedPage]:
        """The new pages and the region that serves each (None: every machine)."""
        regions = {r.showcase.path: r.showcase.region for r in self.requests}
        return [ExpectedPage(path, regions[path]) for path in sorted(regions)]


def plan(asks: Sequence[Ask | IndexSynced]) -> Plan:
    """The batch's roll-out: its newest snapshot, for all its requests; only the named
    machines when every ask names some, else the whole fleet."""
    batch = [Ask.synced(a) if isinstance(a, IndexSynced) else a for a in asks]
    newest = max(batch, key=lambda a: a.snapshot.generation)
    requests = {r.request_id: r for a in batch for r in a.requests}
    targeted = all(a.machine_ids for a in batch)
    ids = frozenset(m for a in batch for m in a.machine_ids or ()) if targeted else None
    return Plan(newest.snapshot, tuple(requests.values()), ids, _rollout_id(batch))


def _rollout_id(batch: Sequence[Ask]) -> str:
    """The event's id, or a digest of the batch's ids: the same batch gives the same msg ids."""
    if len(batch) == 1:
        return batch[0].event_id
    joined = "|".join(sorted(a.event_id for a in batch))
    return "batch-" + hashlib.sha256(joined.encode()).hexdigest()[:16]
