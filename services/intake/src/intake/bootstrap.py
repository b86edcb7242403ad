"""The composition root: builds intake from settings and the collaborators it is given.

Tests pass fakes for the bus, the mailer and the clock; `python -m intake` passes nothing and
gets NATS, SMTP and the wall clock. Nothing connects until the app starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from anyio import CapacityLimiter
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from showcase_common import validation_errors
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.security_headers import SecurityHeaders, page_csp

from intake import metrics
from intake.config import IntakeSettings
from intake.container import Container
from intake.db import Database, Saturated, create_schema, make_engine
from intake.mail import MailRelay, domain_of
from intake.nats_bus import NatsBus
from intake.ports import Bus, LogMailer, Mailer
from intake.relay import OutboxRelay
from intake.security import Signer, VerifiedCredentials
from intake.service import IntakeService
from intake.showcases_file import ShowcasesFile, ShowcasesFileRefresher
from intake.smtp import SmtpMailer
from intake.throttle import LoginThrottle, ThrottleRules
from intake.web.middleware import RequestIdMiddleware
from intake.web.routes import api_router

PACKAGE_DIR = Path(__file__).parent


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_mailer(settings: IntakeSettings) -> Mailer:
    if not settings.smtp_host:
        return LogMailer()
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.smtp_to,
        settings.smtp_timeout_s,
    )


def build_container(
    settings: IntakeSettings,
    *,
    bus: Bus | None = None,
    mailer: Mailer | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Container:
    db = Database(make_engine(settings.index_db_path, settings.db_limits), settings.db_limits)
    bus = bus or NatsBus(
        settings.nats_url, retry_s=settings.nats_retry_s, replicas=settings.nats_replicas
    )
    clock = clock or _utcnow
    relay = OutboxRelay(db, bus, clock, poll_s=settings.outbox_poll_s)
    mailer = mailer or default_mailer(settings)
    mail_relay = MailRelay(
        db,
        mailer,
        clock,
        domain=domain_of(settings.smtp_from),
        poll_s=settings.outbox_poll_s,
        retry_s=settings.mail_retry_s,
        retry_max_s=settings.mail_retry_max_s,
        # An attempt spans several SMTP round trips, each bounded by the timeout.
        lease_s=max(60.0, 10 * settings.smtp_timeout_s),
    )
    showcases_file = ShowcasesFileRefresher(db, ShowcasesFile(settings.showcases_yml_path))
    service = IntakeService(
        db,
        clock,
        settings.public_fleet_url,
        on_outbox=relay.wake,
        on_change=showcases_file.changed,
        on_mail=mail_relay.wake,
    )
    return Container(
        settings=settings,
        db=db,
        bus=bus,
        mailer=mailer,
        clock=clock,
        relay=relay,
        mail_relay=mail_relay,
        service=service,
        showcases_file=showcases_file,
        templates=Jinja2Templates(directory=PACKAGE_DIR / "templates"),
        credentials=VerifiedCredentials(),
        password_checks=CapacityLimiter(settings.password_check_threads),
        throttle=LoginThrottle(
            ThrottleRules(
                login_failures=settings.login_failures,
                address_failures=settings.address_failures,
                window_s=settings.login_window_s,
            )
        ),
        csrf=Signer(settings.intake_session_secret, "csrf"),
        flash=Signer(settings.intake_session_secret, "flash"),
    )


def create_app(
    settings: IntakeSettings,
    *,
    bus: Bus | None = None,
    mailer: Mailer | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    background: bool = True,
) -> FastAPI:
    """The app; `background=False` leaves the relay and the showcases.yml writer to the caller
    (unit tests drive them by hand: `container.relay.drain()`, `mail_relay.drain()`, `showcases_file.write_now()`)."""
    container = build_container(settings, bus=bus, mailer=mailer, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        create_schema(container.db.engine)
        await container.bus.start()
        stop = asyncio.Event()
        tasks = []
        if background:
            tasks = [
                asyncio.create_task(container.relay.run(stop)),
                asyncio.create_task(container.mail_relay.run(stop)),
                asyncio.create_task(container.showcases_file.run(stop)),
            ]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await container.bus.close()
            container.db.engine.dispose()

    app = FastAPI(title="Showcase intake", version="1.0", lifespan=lifespan)
    app.state.container = container
    validation_errors.install(app)
    _count_invalid_bodies(app)
    app.add_exception_handler(Saturated, _busy)
    app.include_router(api_router)
    metrics.mount(app, settings.metrics_bearer)
    app.mount(
        "/static", StaticFiles(directory=PACKAGE_DIR / "static", check_dir=False), name="static"
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        on_refused=metrics.REFUSALS.labels("too_large").inc,
    )
    app.add_middleware(SecurityHeaders, csp=page_csp(settings.public_gateway_url))
    app.add_middleware(RequestIdMiddleware)  # outermost: every line, even a 413, has the id
    return app


def _count_invalid_bodies(app: FastAPI) -> None:
    """FastAPI's own 422 (a body that fails the schema) is invalid input too: count it so."""
    answer = app.exception_handlers[RequestValidationError]

    async def counted(request: Request, exc: Exception) -> Response:
        metrics.REFUSALS.labels("invalid").inc()
        response = answer(request, exc)  # FastAPI's own handler is async; a handler may not be
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(RequestValidationError, counted)


RETRY_AFTER_S = 1
"""A full database queue drains in well under a second at the write rates measured."""


async def _busy(_request: Request, _exc: Exception) -> Response:
    """More database work waits than DB_QUEUE allows: refuse now rather than queue forever."""
    metrics.REFUSALS.labels("busy").inc()
    return JSONResponse(
        {"detail": "intake is busy; retry shortly"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
