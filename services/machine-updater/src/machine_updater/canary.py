"""Canary first: one machine takes the new generation alone, and only when its pages answer do
the others follow. A canary that fails halts the roll-out there, every other machine still on the
previous generation.

The canary is the machine named by `CANARY_MACHINE` when it is in the roll-out, else the first in
region order (by region code, then id: the same machine each time for the same fleet). A roll-out
to a single machine (or with `CANARY=false`) has no canary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from machine_updater.fleet import Machine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CanaryPolicy:
    enabled: bool = True
    machine_id: str | None = None
    """The canary by name; None (or not in the roll-out): the first in region order."""


def split(
    machines: Sequence[Machine], policy: CanaryPolicy
) -> tuple[Machine | None, list[Machine]]:
    """(the canary, the rest); no canary when disabled or when there is only one machine."""
    if not policy.enabled or len(machines) < 2:
        return None, list(machines)
    named = [m for m in machines if m.id == policy.machine_id]
    if policy.machine_id and not named:
        log.warning(
            "canary machine %s is not in this roll-out: the first in region order goes first",
            policy.machine_id,
        )
    canary = named[0] if named else min(machines, key=lambda m: (m.region, m.id))
    return canary, [m for m in machines if m is not canary]
