"""The machine-updater's own metrics (the bus's are `showcase_*`, in `showcase_common.metrics`).

Served with them at `GET /metrics` on the health port. Machines are labelled by region, never
by id: a region is a handful of values whatever the fleet's size.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from showcase_common.metrics import DURATION_BUCKETS

ROLLOUTS = Counter(
    "updater_rollouts_total",
    "Roll-outs by outcome: updated (every running machine level), failed (at least one machine "
    "failed), fleet_unavailable (the fleet could not be listed; the bus retries).",
    ["outcome"],
)
ROLLOUT_SECONDS = Histogram(
    "updater_rollout_seconds",
    "Time from listing the fleet to the last machine finishing, per finished roll-out.",
    buckets=DURATION_BUCKETS,
)
MACHINE_UPDATES = Counter(
    "updater_machine_updates_total",
    "Machines brought to a generation, by outcome: updated (update_config called), "
    "already_current (it served the generation already), failed (after its retries).",
    ["region", "outcome"],
)
MACHINE_UPDATE_SECONDS = Histogram(
    "updater_machine_update_seconds",
    "Time one machine took, retries included, by outcome.",
    ["outcome"],
    buckets=DURATION_BUCKETS,
)
MACHINE_RETRIES = Counter(
    "updater_machine_retries_total",
    "Attempts on a machine after its first (unreachable, timed out, 5xx, not level yet).",
    ["region"],
)
FLEET_MACHINES = Gauge(
    "updater_fleet_machines",
    "Machines in the fleet at the last listing; active=false ones catch up when they boot.",
    ["active"],
)


# Plain values, not the roll-out's types: this module measures the roll-out without importing it.


def machine_finished(region: str, outcome: str, duration_s: float, attempts: int) -> None:
    """One machine done: `outcome` is updated, already_current or failed."""
    MACHINE_UPDATES.labels(region, outcome).inc()
    MACHINE_UPDATE_SECONDS.labels(outcome).observe(duration_s)
    MACHINE_RETRIES.labels(region).inc(max(0, attempts - 1))


def rollout_finished(all_updated: bool, duration_s: float) -> None:
    ROLLOUTS.labels("updated" if all_updated else "failed").inc()
    ROLLOUT_SECONDS.observe(duration_s)


def fleet_listed(active: int, total: int) -> None:
    FLEET_MACHINES.labels("true").set(active)
    FLEET_MACHINES.labels("false").set(total - active)
