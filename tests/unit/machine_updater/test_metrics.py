"""The updater's metrics move with each roll-out (deltas: the registry is process-wide)."""

from __future__ import annotations

import pytest
from machine_updater.fleet import Machine
from prometheus_client import REGISTRY
from showcase_common.bus import RetryableError

from tests.unit.machine_updater.test_handlers import World, request, synced


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _machines(region: str, outcome: str) -> float:
    return _value("updater_machine_updates_total", region=region, outcome=outcome)


async def test_each_machine_is_counted_by_region_and_outcome_with_its_retries() -> None:
    world = World(4)  # m0 iad, m1 ord, m2 sjc, m3 ams
    world.fake("m0").generation, world.fake("m0").pages = 5, {request().showcase.path}
    world.fake("m1").down_for = 1  # one retry, then updated
    world.fake("m2").down_for = 100  # three attempts, then failed
    world.fleet.list[3] = Machine("m3", "ams", "http://m3", state="stopped")
    keys = [("iad", "already_current"), ("ord", "updated"), ("sjc", "failed")]
    before = [_machines(*key) for key in keys]
    retries = [_value("updater_machine_retries_total", region=r) for r in ("ord", "sjc")]
    failed = _value("updater_rollouts_total", outcome="failed")
    timed = _value("updater_rollout_seconds_count")

    await world.handler.handle([synced(5)])

    assert [_machines(*key) - b for key, b in zip(keys, before, strict=True)] == [1, 1, 1]
    assert [
        _value("updater_machine_retries_total", region=r) - b
        for r, b in zip(("ord", "sjc"), retries, strict=True)
    ] == [1, 2]
    assert _value("updater_rollouts_total", outcome="failed") - failed == 1
    assert _value("updater_rollout_seconds_count") - timed == 1
    assert _value("updater_fleet_machines", active="true") == 3
    assert _value("updater_fleet_machines", active="false") == 1


async def test_a_fleet_that_cannot_be_listed_is_counted() -> None:
    world = World(2)
    world.fleet.broken = True
    before = _value("updater_rollouts_total", outcome="fleet_unavailable")
    with pytest.raises(RetryableError):
        await world.handler.handle([synced(5)])
    assert _value("updater_rollouts_total", outcome="fleet_unavailable") - before == 1
