"""The machines, the generation each one serves (`GET {agent}/showcase/status`), and what that
means for the fleet: the one implementation behind `showcasectl status` and intake's admin page.

The fleet comes from where the machine-updater finds it: the Fly Machines API when FLY_APP_NAME
is set (each machine reached through the app's public URL with `Fly-Force-Instance-Id`, the
listing shared with the updater in `showcase_common.fly`), else the same static YAML file
(`machines: [{id, region, url, protocol?}]`).

A machine of `protocol: update_config` (the Rails machines' own CGI, `FLY_MACHINE_PROTOCOL` on
Fly) has no `/showcase/status`: its generation is read from the update's result (the stream's
last `MachineUpdated` for it) and from its pages (each page of that update must still answer
rightly on it: 200 in the page's region, the fly-replay there elsewhere). Reading those updates
from the stream is the caller's (`showcasectl.fleet.last_updates`).

The projections are pure: `machine_state` (the word a machine's row shows) and `machine_problem`
(what `status` reports about it), given the newest generation, the pin and the pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from showcase_common import events
from showcase_common.fleet_control import PinHold
from showcase_common.fly import FORCE_INSTANCE_HEADER, app_url, list_machines
from showcase_common.replay import PageAnswer, judge
from showcase_common.settings import FleetSettings


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


async def load_machines(settings: FleetSettings) -> list[Machine]:
    """The fleet as the updater finds it: Fly's Machines API when FLY_APP_NAME is set, else the
    fleet file, else none. Raises `FleetFileError` saying what could not be read."""
    if settings.fly_app_name:
        return await load_fly_fleet(
            api_url=settings.fly_api_url,
            app_name=settings.fly_app_name,
            token=settings.fly_api_token or "",
            public_url=settings.fly_app_url,
            timeout_s=settings.agent_timeout_s,
            protocol=settings.fly_machine_protocol,
        )
    if settings.fleet_file is not None:
        return load_fleet(settings.fleet_file)
    return []


@dataclass(frozen=True)
class PinView:
    """The fleet pinned to a generation by a rollback: until `unpin` (`hold`), else until the
    next request rolls forward."""

    generation: int
    hold: bool
    by: str
    reason: str
    at: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "hold": self.hold,
            "by": self.by,
            "reason": self.reason,
            "at": self.at,
        }

    @property
    def until(self) -> str:
        return "until `showcasectl unpin`" if self.hold else "until the next request"


def machine_state(status: MachineStatus, *, newest: int | None, pin: PinView | None) -> str:
    """The word a machine's row shows: its error, "pinned" / "NOT ON THE PIN" while the fleet is
    pinned, "BEHIND" when older than the newest generation, else "up to date"."""
    if status.error:
        return status.error if status.source == "updates" else f"unreachable: {status.error}"
    if pin is not None:
        return "pinned" if status.generation == pin.generation else "NOT ON THE PIN"
    if newest is not None and (status.generation or 0) < newest:
        return "BEHIND"
    return "up to date"


def machine_problem(
    status: MachineStatus, *, newest: int | None, pin: PinView | None, paused: bool
) -> str | None:
    """What is wrong with a machine, or None. Behind while paused is on purpose, not a problem."""
    machine_id = status.machine.id
    if status.error and status.source == "updates":
        return f"machine {machine_id}: {status.error}"
    if status.error:
        return f"machine {machine_id} unreachable: {status.error}"
    if pin is not None:
        if status.generation != pin.generation:
            return (
                f"machine {machine_id} serves generation {status.generation}, "
                f"the fleet is pinned to {pin.generation}"
            )
        return None
    if not paused and newest is not None and (status.generation or 0) < newest:
        return f"machine {machine_id} serves generation {status.generation}, S3 has {newest}"
    return None


@dataclass(frozen=True)
class Stored:
    """An event and its stream sequence (the last of its subject, read by whoever may)."""

    seq: int
    event: Any


def pin_from_events(
    last_synced: Stored | None, last_rollback: Stored | None, hold: PinHold | None
) -> PinView | None:
    """The pin as the bus tells it, for a reader without the object store (intake): a held pin
    (KV `fleet_control`) until `unpin`; else the last rollback until the syncer publishes again
    (its next publication drops the pointer's pin, as `showcasectl rollback` says)."""
    if hold is not None:
        return PinView(hold.generation, True, hold.pinned_by, hold.reason, hold.since.isoformat())
    if last_rollback is None:
        return None
    rollback = last_rollback.event
    if not isinstance(rollback, events.RollbackRequested) or rollback.hold:
        return None  # a held rollback whose hold is gone: unpinned
    if last_synced is not None and last_synced.seq > last_rollback.seq:
        return None  # rolled forward since
    return PinView(
        rollback.snapshot.generation,
        False,
        rollback.actor,
        rollback.reason,
        rollback.occurred_at.isoformat(),
    )


def newest_generation(last_synced: Stored | None) -> int | None:
    """The newest generation published, from the last `IndexSynced`."""
    if last_synced is None or not isinstance(last_synced.event, events.IndexSynced):
        return None
    return last_synced.event.snapshot.generation
