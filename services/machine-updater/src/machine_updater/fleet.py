"""Fleet discovery: which machines exist, which run now, and how to reach each one.

Two adapters of one port: `StaticFleet` (a YAML list, outside Fly) and `FlyFleet` (the Fly
Machines API). On Fly every machine is reached through the app's public URL with the
`Fly-Force-Instance-Id` header, so the updater needs no private network.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ACTIVE_STATES = frozenset({"started", "created"})
"""Fly states worth an update call; a machine in any other state catches up when it boots."""

FORCE_INSTANCE_HEADER = "Fly-Force-Instance-Id"


@dataclass(frozen=True)
class Machine:
    id: str
    region: str
    url: str
    """Base URL the calls go to (the machine's own, or the app's public URL on Fly)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    state: str = "started"

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


class FleetError(Exception):
    """The fleet could not be listed (the API is down, the token refused, the file broken)."""


class Fleet(abc.ABC):
    """The port: the fleet's machines, running or not."""

    @abc.abstractmethod
    async def machines(self) -> list[Machine]: ...


class StaticFleet(Fleet):
    """A YAML file: `machines: [{id, region, url, state?}]`, re-read on each roll-out."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def machines(self) -> list[Machine]:
        try:
            data = yaml.safe_load(self.path.read_text()) or {}
            return [_static_machine(entry) for entry in data.get("machines", [])]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise FleetError(f"cannot read fleet file {self.path}: {exc}") from exc


def _static_machine(entry: Mapping[str, Any]) -> Machine:
    return Machine(
        id=str(entry["id"]),
        region=str(entry.get("region", "")),
        url=str(entry["url"]).rstrip("/"),
        state=str(entry.get("state", "started")),
    )


class FlyFleet(Fleet):
    """The Fly Machines API: `GET /v1/apps/{app}/machines` with a bearer token."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        app_name: str,
        token: str,
        app_url: str,
    ) -> None:
        self._http = http
        self._endpoint = f"{api_url.rstrip('/')}/v1/apps/{app_name}/machines"
        self._auth = {"Authorization": f"Bearer {token}"}
        self._app_url = app_url.rstrip("/")

    async def machines(self) -> list[Machine]:
        try:
            response = await self._http.get(self._endpoint, headers=self._auth)
            response.raise_for_status()
            return [self._machine(entry) for entry in response.json()]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise FleetError(f"cannot list Fly machines: {exc}") from exc

    def _machine(self, entry: Mapping[str, Any]) -> Machine:
        return Machine(
            id=str(entry["id"]),
            region=str(entry.get("region", "")),
            url=self._app_url,
            headers={FORCE_INSTANCE_HEADER: str(entry["id"])},
            state=str(entry.get("state", "")),
        )
