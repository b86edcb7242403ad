"""The composition root: `ports` makes the updater's real collaborators (nothing connects: the
runner opens NATS), `build` turns the ports it is given into the `Service` the runner serves;
unit tests call `build` with `FakeUpdaterPorts`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from showcase_common import subjects
from showcase_common.backoff import RetryPolicy
from showcase_common.bus import ConsumerSpec, EventPublisher, Publisher, consumer_options
from showcase_common.events import IndexSynced, MachinesRetryRequested, RollbackRequested
from showcase_common.fleet_control import FleetControl, KvFleetControl
from showcase_common.health import Check
from showcase_common.runner import Ports, Service, Worker, nats_link
from showcase_common.signing import SnapshotVerifier
from showcase_common.snapshots import S3SnapshotStore

from machine_updater.bodies import SnapshotBodies, StoreBodies
from machine_updater.canary import CanaryPolicy
from machine_updater.client import ByProtocol, HttpMachineClient, MachineClient
from machine_updater.config import UpdaterSettings
from machine_updater.fleet import Fleet, FlyFleet, StaticFleet, update_path_of
from machine_updater.handlers import RolloutHandler
from machine_updater.hold import RolloutHold
from machine_updater.newest_snapshot import NewestSnapshot, StreamNewestSnapshot
from machine_updater.rollout import MachinePolicy
from machine_updater.transport import PerOriginTransport
from machine_updater.update_config import UpdateConfigClient


def retry_policy(settings: UpdaterSettings) -> MachinePolicy:
    retry = RetryPolicy(
        attempts=settings.machine_attempts,
        budget_s=settings.machine_deadline_s,
        initial_s=settings.retry_initial_s,
        max_s=settings.retry_max_s,
        # a little jitter, so that a fleet's retries do not arrive in step
        jitter_s=settings.retry_initial_s / 5,
    )
    return MachinePolicy(retry=retry, page_deadline_s=settings.page_deadline_s)


def make_fleet(settings: UpdaterSettings, http: httpx.AsyncClient) -> Fleet:
    """The Fly API when an app is named, else the static YAML list."""
    if settings.fly_app_name:
        if not settings.fly_api_token:
            raise ValueError("FLY_APP_NAME is set but FLY_API_TOKEN is not")
        return FlyFleet(
            http,
            api_url=settings.fly_api_url,
            app_name=settings.fly_app_name,
            token=settings.fly_api_token,
            app_url=settings.app_url,
            protocol=settings.fly_machine_protocol,
            update_path=update_path_of(settings.fly_update_config_path),
        )
    if settings.fleet_file is None:
        raise ValueError("set FLEET_FILE or FLY_APP_NAME + FLY_API_TOKEN")
    return StaticFleet(settings.fleet_file)


KEEP_ALIVE_S = 2.0
"""How long an idle connection to a machine is kept: well under the machines' own idle close
(an agent's `HTTP_KEEP_ALIVE_S`, 5 s). At the same 5 s (httpx's default) a call sent on a
connection just as the machine closes it — its FIN still on the way, up to half an RTT on a
distant machine — fails and is tried again: a failed attempt in every few roll-outs of a
32-machine fleet (`bench/rollout_parallel.py`)."""


def make_http(settings: UpdaterSettings) -> httpx.AsyncClient:
    """A pool per origin (`transport.PerOriginTransport`: one per machine agent), each with
    enough connections for every concurrent machine (status + update + pages), kept alive: on
    Fly every machine is reached through the app's one URL (`Fly-Force-Instance-Id`), so that
    origin's pool carries the whole roll-out."""
    limits = httpx.Limits(
        max_connections=max(16, settings.concurrency * 2), keepalive_expiry=KEEP_ALIVE_S
    )
    return httpx.AsyncClient(
        transport=PerOriginTransport(limits),
        timeout=httpx.Timeout(settings.probe_timeout_s),
        follow_redirects=False,
    )


def make_client(
    settings: UpdaterSettings, http: httpx.AsyncClient, bodies: SnapshotBodies | None = None
) -> MachineClient:
    """One adapter per protocol behind the one port (`client.ByProtocol`)."""
    agent = HttpMachineClient(
        http,
        settings.machine_update_secret,
        update_timeout_s=settings.update_timeout_s,
        probe_timeout_s=settings.probe_timeout_s,
        connect_timeout_s=settings.connect_timeout_s,
    )
    update_config = UpdateConfigClient(
        http,
        bodies
        or StoreBodies(S3SnapshotStore.from_settings(settings, verifier=_verifier(settings))),
        read_timeout_s=settings.update_timeout_s,
        probe_timeout_s=settings.probe_timeout_s,
        connect_timeout_s=settings.connect_timeout_s,
    )
    return ByProtocol({"agent": agent, "update_config": update_config})


@dataclass(kw_only=True)
class UpdaterPorts(Ports):
    """What the updater talks to; `ports` makes the real ones, tests pass `FakeUpdaterPorts`."""

    publisher: EventPublisher
    newest_snapshot: NewestSnapshot
    fleet: Fleet
    client: MachineClient
    http: httpx.AsyncClient | None = None
    """The one client the fleet and the machine client share (closed when the updater stops)."""
    control: FleetControl | None = None
    """The operators' pause (KV); None: roll-outs are never held."""


def ports(settings: UpdaterSettings) -> UpdaterPorts:
    """NATS (opened by the runner), the fleet and the agents over one httpx client."""
    link = nats_link(settings)
    http = make_http(settings)
    return UpdaterPorts(
        publisher=Publisher(link.jetstream),
        newest_snapshot=StreamNewestSnapshot(link.jetstream),
        fleet=make_fleet(settings, http),
        client=make_client(settings, http),
        http=http,
        nats=link,
        control=KvFleetControl(link.jetstream, replicas=settings.nats_replicas),
    )


def make_handler(settings: UpdaterSettings, ports: UpdaterPorts) -> RolloutHandler:
    return RolloutHandler(
        ports.fleet,
        ports.client,
        ports.publisher,
        ports.newest_snapshot,
        policy=retry_policy(settings),
        concurrency=settings.concurrency,
        canary=CanaryPolicy(enabled=settings.canary, machine_id=settings.canary_machine),
        hold=None
        if ports.control is None
        else RolloutHold(
            ports.control,
            ports.publisher,
            announced=ports.newest_snapshot,
            poll_s=settings.pause_poll_s,
        ),
    )


def readiness(nats: Check | None, fleet: Fleet) -> dict[str, Check]:
    """NATS connected, and the fleet listable and not empty."""

    async def machines() -> None:
        if not await fleet.machines():
            raise LookupError("no machines listed")

    return {"nats": nats, "fleet": machines} if nats is not None else {"fleet": machines}


def build(settings: UpdaterSettings, ports: UpdaterPorts) -> Service:
    """The updater as the runner runs it: health on UPDATER_PORT; once NATS is up, one batch
    consumer (a roll-out outlasts the ack wait easily: the loop's heartbeat keeps the lease,
    and the ack wait bounds how long a crashed updater holds the message)."""
    handler = make_handler(settings, ports)
    roll_out = handler.handle_batch
    consumer = ConsumerSpec(
        subjects.MACHINE_UPDATER_DURABLE,
        handles_batches={
            IndexSynced: roll_out,
            MachinesRetryRequested: roll_out,
            RollbackRequested: roll_out,  # in stream order with the roll-outs around it
        },
        options=consumer_options(settings.consumer),
    )
    link = ports.nats
    return Service(
        name="machine-updater",
        listen_host=settings.updater_host,
        listen_port=settings.updater_port,
        checks=readiness(link.check if link is not None else None, ports.fleet),
        workers=[_stopping(handler)],
        consumers=[consumer],
        closers=[ports.http.aclose] if ports.http is not None else [],
    )


def _stopping(handler: RolloutHandler) -> Worker:
    """Hands the runner's stop event to the handler: a roll-out held by a pause is handed back
    to the stream when the updater stops, instead of waited on."""

    async def give(stop: asyncio.Event) -> None:
        handler.stopping = stop

    return give


def _verifier(settings: UpdaterSettings) -> SnapshotVerifier | None:
    key = settings.snapshot_verify_key
    return SnapshotVerifier.from_base64(key) if key else None
