"""The Fly.io Machines API, as far as the pipeline needs it: listing an app's machines.

Shared by the machine-updater (which machines to update) and `showcasectl status` (which
machines to ask for their generation). Every machine is reached through the app's public URL
with the `Fly-Force-Instance-Id` header, so neither needs Fly's private network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_API_URL = "https://api.machines.dev"
FORCE_INSTANCE_HEADER = "Fly-Force-Instance-Id"
ACTIVE_STATES = frozenset({"started", "created"})
"""Fly states worth an update call; a machine in any other state catches up when it boots."""


@dataclass(frozen=True)
class FlyMachine:
    id: str
    region: str
    state: str


async def list_machines(
    http: httpx.AsyncClient, *, api_url: str, app_name: str, token: str
) -> list[FlyMachine]:
    """`GET /v1/apps/{app}/machines`; raises httpx.HTTPError, ValueError, KeyError, TypeError."""
    response = await http.get(
        f"{api_url.rstrip('/')}/v1/apps/{app_name}/machines",
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    return [_machine(entry) for entry in response.json()]


def _machine(entry: dict[str, Any]) -> FlyMachine:
    return FlyMachine(str(entry["id"]), str(entry.get("region", "")), str(entry.get("state", "")))


def app_url(app_name: str, configured: str | None = None) -> str:
    """The app's public URL: the configured one, else Fly's default https://{app}.fly.dev."""
    return (configured or f"https://{app_name}.fly.dev").rstrip("/")
