"""What one roll-out covers: the newest snapshot of a batch, for every request in it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from showcase_common.events import IndexSynced, RequestRef, Snapshot


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


def plan(synced: Sequence[IndexSynced]) -> Plan:
    newest = max(synced, key=lambda e: e.snapshot.generation)
    requests = {r.request_id: r for e in synced for r in e.requests}
    targeted = all(e.machine_ids for e in synced)
    ids = frozenset(m for e in synced for m in e.machine_ids) if targeted else None
    return Plan(newest.snapshot, tuple(requests.values()), ids, _rollout_id(synced))


def _rollout_id(synced: Sequence[IndexSynced]) -> str:
    """The event's id, or a digest of the batch's ids: the same batch gives the same msg ids."""
    if len(synced) == 1:
        return synced[0].event_id
    joined = "|".join(sorted(e.event_id for e in synced))
    return "batch-" + hashlib.sha256(joined.encode()).hexdigest()[:16]
