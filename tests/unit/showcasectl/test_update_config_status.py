"""`showcasectl status` for machines without `/showcase/status` (`protocol: update_config`): the
generation of their last update on the stream, their pages of that update asked again."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from showcase_common import events
from showcase_common.fleet_status import Machine, load_fleet, update_config_statuses

PATH = "/showcase/2027/boston/gala/"


def updated(machine_id: str, region: str) -> events.MachineUpdated:
    showcase = events.ShowcaseRef(
        showcase_id=1, year=2027, location_key="boston", key="gala", name="Gala", region="iad"
    )
    ref = events.RequestRef(request_id="r1", user="studio", showcase=showcase, redirect_url="/")
    return events.MachineUpdated(
        generation=7,
        requests=[ref],
        machine_id=machine_id,
        region=region,
        done=1,
        total=3,
        duration_s=0.5,
    )


def navigator(request: httpx.Request) -> httpx.Response:
    """iad serves the page; ord hands it on to iad; sjc lost it (404)."""
    host = request.url.host
    if host == "iad.test":
        return httpx.Response(200, text="<h1>Gala</h1>")
    if host == "ord.test":
        body = json.dumps({"region": "iad", "timeout": "30s", "fallback": "force_self"})
        return httpx.Response(
            307, content=body, headers={"content-type": "application/vnd.fly.replay+json"}
        )
    return httpx.Response(404)


async def test_generation_from_the_last_update_and_pages_checked_region_by_region() -> None:
    machines = [
        Machine(r, r, f"http://{r}.test", protocol="update_config") for r in ("iad", "ord", "sjc")
    ]
    machines.append(Machine("new", "ams", "http://ams.test", protocol="update_config"))
    last = {r: updated(r, r) for r in ("iad", "ord", "sjc")}

    statuses = await update_config_statuses(
        machines, last, transport=httpx.MockTransport(navigator)
    )

    by_id = {s.machine.id: s for s in statuses}
    assert {s.source for s in statuses} == {"updates"}
    assert by_id["iad"].generation == 7 and by_id["iad"].error is None
    assert by_id["ord"].generation == 7 and by_id["ord"].error is None  # hands it on: right
    assert by_id["sjc"].error is not None and "answered 404" in by_id["sjc"].error
    assert by_id["new"].generation is None and by_id["new"].error is None  # never updated yet


def test_the_fleet_file_says_each_machines_protocol(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "machines:\n"
        "  - {id: a, region: iad, url: 'http://a'}\n"
        "  - {id: b, region: ord, url: 'http://b', protocol: update_config, path: /update_config}\n"
    )
    assert [m.protocol for m in load_fleet(fleet)] == ["agent", "update_config"]
