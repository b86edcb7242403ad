"""The machines and the generation each one serves (`GET {agent}/showcase/status`).

The fleet comes from the same static YAML file the machine-updater reads
(`machines: [{id, region, url}]`); the tool re-reads it rather than importing the service.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml


class FleetFileError(Exception):
    """The fleet file is missing or not the expected shape."""


@dataclass(frozen=True)
class Machine:
    id: str
    region: str
    url: str


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
        response = await http.get(f"{machine.url}/showcase/status")
        response.raise_for_status()
        generation = response.json().get("generation")
        return MachineStatus(machine, int(generation) if generation is not None else None)
    except (httpx.HTTPError, ValueError, TypeError) as exc:
        return MachineStatus(machine, None, f"{type(exc).__name__}: {exc}")
