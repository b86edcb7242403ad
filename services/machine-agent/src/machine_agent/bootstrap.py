"""The composition root: the agent's app, built from settings and the collaborators given."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from showcase_common import metrics, validation_errors
from showcase_common.security_headers import STATIC_PAGE_CSP, SecurityHeaders
from showcase_common.snapshots import SnapshotStore

from machine_agent.api import router
from machine_agent.applier import Applier
from machine_agent.catchup import CatchUp
from machine_agent.config import AgentSettings

log = logging.getLogger(__name__)


def create_app(
    settings: AgentSettings, *, store: SnapshotStore | None = None, catch_up: bool = True
) -> FastAPI:
    """The agent. `store` defaults to the S3 store of `settings` (nothing connects here)."""
    if store is None:
        store = SnapshotStore.from_settings(settings)
    applier = Applier(store, settings.data_dir)
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

    app = FastAPI(title="machine-agent", lifespan=lifespan)
    validation_errors.install(app)
    app.state.settings = settings
    app.state.applier = applier
    app.state.catchup = catchup
    app.include_router(router)
    metrics.mount(app, settings.metrics_bearer)
    app.add_middleware(SecurityHeaders, csp=STATIC_PAGE_CSP)
    return app
