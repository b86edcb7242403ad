"""The composition root: the agent, built from settings and the ports given.

`ports` makes the real store (S3; nothing connects here), `build` the `Service` the runner
serves: the agent's routes, the boot catch-up as a worker, readiness over the store; at
start-up (`prepare`) the data directories are made and the served generation read, never in
`build`. The agent needs no NATS. Tests call `build` with `FakeAgentPorts`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from showcase_common import metrics
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.runner import Ports, Service
from showcase_common.s3_reader import S3SnapshotReader
from showcase_common.security_headers import STATIC_PAGE_CSP, SecurityHeaders
from showcase_common.signing import SnapshotVerifier
from showcase_common.snapshot_store import SnapshotSource
from starlette.exceptions import HTTPException

from machine_agent.api import ROUTES, http_exception
from machine_agent.applier import Applier
from machine_agent.catchup import CatchUp
from machine_agent.config import AgentSettings
from machine_agent.documentation import AgentApp, documentation_routes
from machine_agent.guard import UPDATE_MAX_BYTES, UPDATE_PATH, SecretFirstMiddleware
from machine_agent.route_deps import RouteDeps
from machine_agent.sidecar import SidecarInstaller, SidecarSettings

BODY_MAX_BYTES = 0
"""Only the update endpoint takes a body; every other route is a GET."""

GRACEFUL_SHUTDOWN_S = 5
"""An update in flight gets this long to finish when the agent stops."""

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class AgentPorts(Ports):
    """What the agent talks to (the store; no NATS); `ports` makes the real one, tests pass
    `FakeAgentPorts`."""

    store: SnapshotSource
    """Read-only: an agent reads the pointer and generations, never writes."""


def ports(settings: AgentSettings) -> AgentPorts:
    """S3 from settings, read with signed GETs (no boto3: `showcase_common.s3_reader`), with
    the snapshots' verify key (nothing connects here)."""
    verifier = SnapshotVerifier.from_base64(settings.verify_key)
    return AgentPorts(store=S3SnapshotReader.from_settings(settings, verifier=verifier))


def build(settings: AgentSettings, ports: AgentPorts) -> Service:
    """The agent as the runner runs it: its routes on AGENT_PORT and the boot catch-up."""
    sidecar = SidecarSettings.from_settings(settings)
    installer = SidecarInstaller(sidecar) if sidecar is not None else None
    applier = Applier(ports.store, settings.data_dir, settings.served_region_codes, installer)
    catchup = CatchUp(
        applier, settings.agent_catchup_retry_min_s, settings.agent_catchup_retry_max_s
    )

    async def announce(_stop: asyncio.Event) -> None:
        _log_start(settings, applier, sidecar)

    async def s3() -> None:
        await asyncio.to_thread(applier.store.check_bucket)

    def info() -> Mapping[str, object]:
        # Which generation is served and how the boot catch-up went ("retrying: <why>" →
        # "retrying": the why may name hosts or buckets): shown, never part of the verdict.
        return {"generation": applier.generation, "catch_up": catchup.state.partition(":")[0]}

    return Service(
        name="machine-agent",
        listen_host=settings.agent_host,
        listen_port=settings.agent_port,
        app=agent_app(settings, applier, installer),
        checks={"s3": s3},
        readiness_info=info,
        prepare=[applier.open, *([installer.open] if installer is not None else [])],
        workers=[announce, catchup.run],
        closers=[installer.close] if installer is not None else [],
        server_options={"timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S},
    )


def agent_app(
    settings: AgentSettings, applier: Applier, installer: SidecarInstaller | None
) -> AgentApp:
    """The routes (Starlette, `api.py`; the OpenAPI document on demand), the guard and the
    body limit."""
    app = AgentApp(
        routes=[*ROUTES, *documentation_routes()],
        exception_handlers={HTTPException: http_exception},
    )
    app.state.route_deps = RouteDeps(settings=settings, applier=applier, sidecar=installer)
    metrics.mount(app, settings.metrics_bearer)
    # Added last, so outermost: the secret first, then the size, then the app reads the body.
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=BODY_MAX_BYTES, per_path={UPDATE_PATH: UPDATE_MAX_BYTES}
    )
    app.add_middleware(SecretFirstMiddleware, secret=_secret(settings))
    app.add_middleware(SecurityHeaders, csp=STATIC_PAGE_CSP)
    return app


def _log_start(settings: AgentSettings, applier: Applier, sidecar: SidecarSettings | None) -> None:
    if settings.machine_update_secret is None:
        log.warning("MACHINE_UPDATE_SECRET is not set: every update will be refused")
    log.info(
        "agent %s (%s) serving generation %s from %s",
        settings.agent_id,
        settings.agent_region,
        applier.generation,
        settings.data_dir,
    )
    if sidecar is not None:
        log.info(
            "sidecar mode: files in %s, %d command(s) after each apply, pages at %s",
            sidecar.db_dir,
            len(sidecar.commands),
            sidecar.app_url,
        )


def _secret(settings: AgentSettings) -> str | None:
    secret = settings.machine_update_secret
    return secret.get_secret_value() if secret is not None else None
