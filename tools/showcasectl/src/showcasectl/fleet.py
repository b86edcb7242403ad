"""The machines and the generation each one serves (`GET {agent}/showcase/status`).

The fleet comes from where the machine-updater finds it: the Fly Machines API when FLY_APP_NAME
is set (each machine reached through the app's public URL with `Fly-Force-Instance-Id`, the
listing shared with the updater in `showcase_common.fly`), else the same static YAML file
(`machines: [{id, region, url, protocol?}]`).

A machine of `protocol: update_config` (the Rails machines' own CGI, `FLY_MACHINE_PROTOCOL` on
Fly) has no `/showcase/status`: its generation is read from the update's result (the stream's
last `MachineUpdated` for it) and from its pages (each page of that update must still answer
rightly on it: 200 in the page's region, the fly-replay there elsewhere).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from nats.js.client import JetStreamContext
from showcase_common import events, subjects
from showcase_common.fly import FORCE_INSTANCE_HEADER, app_url, list_machines
from showcase_common.replay import PageAnswer, judge

from showcasectl.stream_reader import scan


class FleetFileError(Exception):
    """The fleet file is missing or not the expected shape."""


@dataclass(frozen=True)
class Machine:
    id: str
    region: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    protocol: str = "agent"


@dataclass
class MachineStatus:
    machine: Machine
    generation: int | None
    error: str | None = None
    source: str = "status"
    """Where the generation was read: the agent's `status`, or the `updates` on the stream (an
    `update_config` machine), its pages checked."""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.machine.id,
            "region": self.machine.region,
            "url": self.machine.url,
            "protocol": self.machine.protocol,
            "generation": self.generation,
            "source": self.source,
            "error": self.error,
        }


def load_fleet(path: Path) -> list[Machine]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
        return [
            Machine(
                str(m["id"]),
                str(m.get("region", "")),
                str(m["url"]).rstrip("/"),
                protocol=str(m.get("protocol", "agent")),
            )
            for m in data.get("machines", [])
        ]
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise FleetFileError(f"cannot read fleet file {path}: {exc}") from exc


async def load_fly_fleet(
    *,
    api_url: str,
    app_name: str,
    token: str,
    public_url: str | None,
    timeout_s: float = 5.0,
    protocol: str = "agent",
) -> list[Machine]:
    """The app's machines from the Machines API, each reached through the app's public URL."""
    base = app_url(app_name, public_url)
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            listed = await list_machines(http, api_url=api_url, app_name=app_name, token=token)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise FleetFileError(f"cannot list Fly machines of {app_name}: {exc}") from exc
    return [Machine(m.id, m.region, base, {FORCE_INSTANCE_HEADER: m.id}, protocol) for m in listed]


async def machine_statuses(
    machines: list[Machine],
    *,
    timeout_s: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[MachineStatus]:
    """Every machine's generation, asked in parallel; an unreachable one carries its error."""
    async with httpx.AsyncClient(timeout=timeout_s, transport=transport) as http:
        return list(await asyncio.gather(*(_status(http, m) for m in machines)))


async def _status(http: httpx.AsyncClient, machine: Machine) -> MachineStatus:
    try:
        response = await http.get(f"{machine.url}/showcase/status", headers=dict(machine.headers))
        response.raise_for_status()
        generation = response.json().get("generation")
        return MachineStatus(machine, int(generation) if generation is not None else None)
    except (httpx.HTTPError, ValueError, TypeError) as exc:
        return MachineStatus(machine, None, f"{type(exc).__name__}: {exc}")


async def update_config_statuses(
    machines: list[Machine],
    last_updates: Mapping[str, events.MachineUpdated],
    *,
    timeout_s: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[MachineStatus]:
    """`update_config` machines: the generation of each one's last successful update, and its
    pages of that update asked again (a machine restored from an old volume shows here)."""
    async with httpx.AsyncClient(timeout=timeout_s, transport=transport) as http:
        return list(
            await asyncio.gather(*(_by_pages(http, m, last_updates.get(m.id)) for m in machines))
        )


async def _by_pages(
    http: httpx.AsyncClient, machine: Machine, last: events.MachineUpdated | None
) -> MachineStatus:
    if last is None:
        return MachineStatus(machine, None, source="updates")
    for request in last.requests:
        path, region = request.showcase.path, request.showcase.region
        try:
            response = await http.get(f"{machine.url}{path}", headers=dict(machine.headers))
        except httpx.HTTPError as exc:
            return MachineStatus(
                machine, last.generation, f"{type(exc).__name__}: {exc}", "updates"
            )
        answer = PageAnswer.of(
            response.status_code, response.headers.get("content-type"), response.content
        )
        verdict = judge(answer, machine.region, region)
        if not verdict.ok:
            error = f"page {path} of generation {last.generation} {verdict.detail}"
            return MachineStatus(machine, last.generation, error, "updates")
    return MachineStatus(machine, last.generation, source="updates")


async def last_updates(js: JetStreamContext) -> dict[str, events.MachineUpdated]:
    """Each machine's last `MachineUpdated` on the stream (the update's result)."""
    found: dict[str, events.MachineUpdated] = {}
    async for msg in scan(js, subjects.STREAM, [subjects.MACHINE_UPDATED]):
        event = msg.event()
        if isinstance(event, events.MachineUpdated):
            found[event.machine_id] = event
    return found
