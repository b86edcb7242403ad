"""The machines and the generation each one serves (`GET {agent}/showcase/status`).

The fleet comes from where the machine-updater finds it: the Fly Machines API when FLY_APP_NAME
is set (each machine reached through the app's public URL with `Fly-Force-Instance-Id`, the
listing shared with the updater in `showcase_common.fly`), else the same static YAML file
(`machines: [{id, region, url}]`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from showcase_common.fly import FORCE_INSTANCE_HEADER, app_url, list_machines


class FleetFileError(Exception):
    """The fleet file is missing or not the expected shape."""


@dataclass(frozen=True)
class Machine:
    id: str
    region: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class MachineStatus:
    machine: Machine
    generation: int | None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.machine.id,
            "region": self.machine.region,
            "url": self.machine.url,
            "generation": self.generation,
            "error": self.error,
        }


def load_fleet(path: Path) -> list[Machine]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
        return [
            Machine(str(m["id"]), str(m.get("region", "")), str(m["url"]).rstrip("/"))
            for m in data.get("machines", [])
        ]
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise FleetFileError(f"cannot read fleet file {path}: {exc}") from exc


async def load_fly_fleet(
    *, api_url: str, app_name: str, token: str, public_url: str | None, timeout_s: float = 5.0
) -> list[Machine]:
    """The app's machines from the Machines API, each reached through the app's public URL."""
    base = app_url(app_name, public_url)
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            listed = await list_machines(http, api_url=api_url, app_name=app_name, token=token)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise FleetFileError(f"cannot list Fly machines of {app_name}: {exc}") from exc
    return [Machine(m.id, m.region, base, {FORCE_INSTANCE_HEADER: m.id}) for m in listed]


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
