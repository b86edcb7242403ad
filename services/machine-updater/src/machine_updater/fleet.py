"""Fleet discovery: which machines exist, which run now, and how to reach each one.

Two adapters of one port: `StaticFleet` (a YAML list, outside Fly) and `FlyFleet` (the Fly
Machines API). On Fly every machine is reached through the app's public URL with the
`Fly-Force-Instance-Id` header, so the updater needs no private network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml
from showcase_common.fly import ACTIVE_STATES, FORCE_INSTANCE_HEADER, list_machines


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


class Fleet(Protocol):
    """The port: the fleet's machines, running or not."""

    async def machines(self) -> list[Machine]: ...


class StaticFleet:
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


class FlyFleet:
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
        self._api = {"api_url": api_url, "app_name": app_name, "token": token}
        self._app_url = app_url.rstrip("/")

    async def machines(self) -> list[Machine]:
        try:
            listed = await list_machines(self._http, **self._api)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise FleetError(f"cannot list Fly machines: {exc}") from exc
        return [
            Machine(
                id=m.id,
                region=m.region,
                url=self._app_url,
                headers={FORCE_INSTANCE_HEADER: m.id},
                state=m.state,
            )
            for m in listed
        ]
