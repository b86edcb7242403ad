"""Fleet discovery: which machines exist, which run now, and how to reach each one.

Two adapters of one port: `StaticFleet` (a YAML list, outside Fly) and `FlyFleet` (the Fly
Machines API). On Fly every machine is reached through the app's public URL with the
`Fly-Force-Instance-Id` header, so the updater needs no private network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import httpx
import yaml
from showcase_common.fly import ACTIVE_STATES, FORCE_INSTANCE_HEADER, list_machines

MachineProtocol = Literal["agent", "update_config"]
"""How a machine is updated: through the machine agent (`agent`), or through the Rails
machines' own CGI endpoint (`update_config`, nothing installed on the machine)."""
PROTOCOLS: tuple[str, ...] = get_args(MachineProtocol)
DEFAULT_UPDATE_CONFIG_PATH = "/showcase/update_config"
"""Where navigator runs `script/update_configuration.rb` on a Fly machine (the Kamal server's
is `/update_config`)."""


@dataclass(frozen=True)
class Machine:
    id: str
    region: str
    url: str
    """Base URL the calls go to (the machine's own, or the app's public URL on Fly)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    state: str = "started"
    protocol: MachineProtocol = "agent"
    update_path: str = DEFAULT_UPDATE_CONFIG_PATH
    """The update endpoint's path (`update_config` machines; the agent's is fixed)."""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


class FleetError(Exception):
    """The fleet could not be listed (the API is down, the token refused, the file broken)."""


class Fleet(Protocol):
    """The port: the fleet's machines, running or not."""

    async def machines(self) -> list[Machine]: ...


class StaticFleet:
    """A YAML file: `machines: [{id, region, url, state?, protocol?, path?}]`, read again on a
    roll-out when it changed (its size or modification time). `protocol` is `agent` (the
    default) or `update_config`; `path` the update endpoint of an `update_config` machine
    (default `/showcase/update_config`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read: tuple[tuple[int, int, int], list[Machine]] | None = None

    async def machines(self) -> list[Machine]:
        try:
            stat = self.path.stat()
            version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if self._read is None or self._read[0] != version:
                data = yaml.load(self.path.read_text(), Loader=_LOADER) or {}
                parsed = [_static_machine(entry) for entry in data.get("machines", [])]
                self._read = (version, parsed)
            return list(self._read[1])
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FleetError(f"cannot read fleet file {self.path}: {exc}") from exc


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (the same documents, faster)."""


def _static_machine(entry: Mapping[str, Any]) -> Machine:
    return Machine(
        id=str(entry["id"]),
        region=str(entry.get("region", "")),
        url=str(entry["url"]).rstrip("/"),
        state=str(entry.get("state", "started")),
        protocol=protocol_of(entry.get("protocol", "agent"), f"machine {entry['id']}"),
        update_path=update_path_of(entry.get("path", DEFAULT_UPDATE_CONFIG_PATH)),
    )


def protocol_of(value: object, where: str) -> MachineProtocol:
    if value not in PROTOCOLS:
        raise ValueError(f"{where}: protocol {value!r} is not one of {', '.join(PROTOCOLS)}")
    return value  # type: ignore[return-value]  # checked against the Literal's values above


def update_path_of(value: object) -> str:
    path = str(value)
    if not path.startswith("/"):
        raise ValueError(f"update endpoint path {path!r} must start with /")
    return path


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
        protocol: MachineProtocol = "agent",
        update_path: str = DEFAULT_UPDATE_CONFIG_PATH,
    ) -> None:
        self._http = http
        self._api = {"api_url": api_url, "app_name": app_name, "token": token}
        self._app_url = app_url.rstrip("/")
        self._protocol: MachineProtocol = protocol
        self._update_path = update_path

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
                protocol=self._protocol,
                update_path=self._update_path,
            )
            for m in listed
        ]
