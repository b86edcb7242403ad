"""The composition root: the agent's app, built from settings and the collaborators given."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from showcase_common import metrics, validation_errors
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.security_headers import STATIC_PAGE_CSP, SecurityHeaders
from showcase_common.snapshots import S3SnapshotStore, SnapshotStore

from machine_agent.api import router
from machine_agent.applier import Applier
from machine_agent.catchup import CatchUp
from machine_agent.config import AgentSettings
from machine_agent.guard import UPDATE_MAX_BYTES, UPDATE_PATH, SecretFirstMiddleware
from machine_agent.sidecar import SidecarInstaller, SidecarSettings

BODY_MAX_BYTES = 0
"""Only the update endpoint takes a body; every other route is a GET."""

log = logging.getLogger(__name__)


def create_app(
    settings: AgentSettings, *, store: SnapshotStore | None = None, catch_up: bool = True
) -> FastAPI:
    """The agent. `store` defaults to the S3 store of `settings` (nothing connects here)."""
    if store is None:
        store = S3SnapshotStore.from_settings(settings)
    sidecar = SidecarSettings.from_settings(settings)
    installer = SidecarInstaller(sidecar) if sidecar is not None else None
    applier = Applier(store, settings.data_dir, settings.served_region_codes, installer)
    catchup = CatchUp(
        applier, settings.agent_catchup_retry_min_s, settings.agent_catchup_retry_max_s
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
        stop = asyncio.Event()
        task = asyncio.create_task(catchup.run(stop)) if catch_up else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if installer is not None:
                await installer.close()

    app = FastAPI(title="machine-agent", lifespan=lifespan)
    validation_errors.install(app)
    app.state.settings = settings
    app.state.applier = applier
    app.state.sidecar = installer
    app.state.catchup = catchup
    app.include_router(router)
    metrics.mount(app, settings.metrics_bearer)
    # Added last, so outermost: the secret first, then the size, then the app reads the body.
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=BODY_MAX_BYTES, per_path={UPDATE_PATH: UPDATE_MAX_BYTES}
    )
    app.add_middleware(SecretFirstMiddleware, secret=_secret(settings))
    app.add_middleware(SecurityHeaders, csp=STATIC_PAGE_CSP)
    return app


def _secret(settings: AgentSettings) -> str | None:
    secret = settings.machine_update_secret
    return secret.get_secret_value() if secret is not None else None
