"""The composition root: builds intake from settings and the ports it is given.

`ports` makes the real ones (NATS through the runner's link, SMTP, the wall clock; nothing
connects here), `build` turns them into the `Service` the runner serves: the app, the outbox and
mail relays and the showcases.yml writer as workers, readiness over the database and the bus;
at start-up (`prepare`, before anything serves) the index is checked and the pipeline's tables
created or migrated; `check` and `seed` are its commands. Tests call `build` with
`FakeIntakePorts` (in-process: `runner.in_process_app`, which runs the start-up too).
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from anyio import CapacityLimiter
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from showcase_common import validation_errors
from showcase_common.bus import consumer_options
from showcase_common.http_limits import BodyLimitMiddleware
from showcase_common.mail import Mailer, smtp_or_log
from showcase_common.openapi import exact_openapi
from showcase_common.runner import Ports, Service, nats_link
from showcase_common.security_headers import SecurityHeaders, page_csp

from intake import metrics, nats_pipeline, outcomes, readiness
from intake.admin_apply import AdminApply
from intake.client_address import ClientAddressMiddleware, parse_networks
from intake.config import IntakeSettings
from intake.credential_cache import VerifiedCredentials
from intake.db_lanes import Database, Saturated
from intake.fleet_desk import FleetDesk, NatsFleetDesk
from intake.index_db import create_schema, make_engine
from intake.loop_reads import LoopReads
from intake.mail import MailRelay, domain_of
from intake.models import ShowcaseIn
from intake.nats_pipeline import NatsPipeline
from intake.outcomes import Outcomes
from intake.ports import Pipeline
from intake.relay import OutboxRelay
from intake.route_deps import RouteDeps
from intake.security import Signer
from intake.seed import require_index, seed
from intake.showcases_file import ShowcasesFile, ShowcasesFileRefresher
from intake.throttle import LoginThrottle, ThrottleRules
from intake.use_cases import UseCases
from intake.web import errors_html
from intake.web.cookies import LaterCookies
from intake.web.middleware import RequestIdMiddleware
from intake.web.openapi import add_examples
from intake.web.routes import api_router

PACKAGE_DIR = Path(__file__).parent


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_mailer(settings: IntakeSettings) -> Mailer:
    """SMTP to SMTP_HOST, or the log when it is empty."""
    return smtp_or_log(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.smtp_to,
        settings.smtp_timeout_s,
    )


@dataclass(kw_only=True)
class IntakePorts(Ports):
    """What intake talks to; `ports` makes the real ones, tests pass `FakeIntakePorts`."""

    pipeline: Pipeline
    mailer: Mailer
    fleet: FleetDesk
    clock: Callable[[], dt.datetime] = field(default=_utcnow)


def ports(settings: IntakeSettings) -> IntakePorts:
    """NATS (the link the runner opens) and SMTP from settings, the wall clock; the admin
    page's fleet over the same link."""
    link = nats_link(settings, retry_s=settings.nats_retry_s, timeout_s=nats_pipeline.TIMEOUT_S)
    return IntakePorts(
        pipeline=NatsPipeline(link),
        mailer=default_mailer(settings),
        fleet=NatsFleetDesk(link, settings, replicas=settings.nats_replicas),
        nats=link,
    )


def build_route_deps(settings: IntakeSettings, ports: IntakePorts) -> RouteDeps:
    db = Database(make_engine(settings.index_db_path, settings.db_limits), settings.db_limits)
    reads = LoopReads(settings.index_db_path)
    pipeline, mailer, clock = ports.pipeline, ports.mailer, ports.clock
    relay = OutboxRelay(db, pipeline, clock, reads=reads, poll_s=settings.outbox_poll_s)
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
    showcases_file = ShowcasesFileRefresher(
        db,
        ShowcasesFile(settings.showcases_yml_path),
        min_interval_s=settings.showcases_yml_min_interval_s,
    )
    use_cases = UseCases(
        db,
        clock,
        settings.public_fleet_url,
        on_outbox=relay.wake,
        on_change=showcases_file.changed,
        on_mail=mail_relay.wake,
    )
    return RouteDeps(
        settings=settings,
        db=db,
        pipeline=pipeline,
        mailer=mailer,
        clock=clock,
        relay=relay,
        mail_relay=mail_relay,
        outcomes=Outcomes(
            db,
            settings.public_intake_url,
            clock,
            max_age_s=settings.studio_mail_max_age_s,
            on_mail=mail_relay.wake,
            deployed=ShowcasesFile(settings.deployed_showcases_file),
        ),
        use_cases=use_cases,
        showcases_file=showcases_file,
        fleet=ports.fleet,
        admin_apply=AdminApply(
            db, use_cases, settings.deployed_showcases_file, clock, on_outbox=relay.wake
        ),
        templates=Jinja2Templates(directory=PACKAGE_DIR / "templates"),
        credentials=VerifiedCredentials(ttl_s=settings.credential_cache_ttl_s),
        reads=reads,
        password_checks=CapacityLimiter(settings.password_check_threads),
        throttle=LoginThrottle(
            ThrottleRules(
                login_failures=settings.login_failures,
                address_failures=settings.address_failures,
                trusted_failures=settings.login_trusted_failures,
                global_failures_per_minute=settings.login_global_failures_per_minute,
                window_s=settings.login_window_s,
                max_tracked=settings.login_max_tracked,
            )
        ),
        known_device=Signer(settings.intake_session_secret, "known-device"),
        csrf=Signer(settings.intake_session_secret, "csrf"),
        flash=Signer(settings.intake_session_secret, "flash"),
    )


def build(settings: IntakeSettings, ports: IntakePorts) -> Service:
    """Intake as the runner runs it: the app on INTAKE_PORT, the relays and the showcases.yml
    writer as workers (they publish through the pipeline port, which waits for the link)."""
    deps = build_route_deps(settings, ports)

    async def dispose_engine() -> None:
        deps.reads.close()
        deps.db.close()

    return Service(
        name="intake",
        listen_host=settings.intake_host,
        listen_port=settings.intake_port,
        app=intake_app(settings, deps),
        checks=readiness.checks(deps.db, deps.pipeline),
        # A stuck database is "stuck" (DB_STUCK_S), not a readiness timeout.
        readiness_timeout_s=settings.db_limits.stuck_s + 1.0,
        workers=[deps.relay.run, deps.mail_relay.run, deps.showcases_file.run],
        # each request's outcome from the bus: recorded, and the studio's e-mail queued
        consumers=[outcomes.consumer(deps.outcomes, consumer_options(settings.consumer))],
        closers=[dispose_engine],
        prepare=[lambda: prepare_index(settings, seeding=False)],
        commands={
            "check": lambda: prepare_index(settings, seeding=False),
            "seed": lambda: prepare_index(settings, seeding=True),
        },
        # the client's address comes from ClientAddressMiddleware, which trusts only the
        # proxies it is told to (uvicorn's own trusts 127.0.0.1's X-Forwarded-For)
        server_options={"proxy_headers": False},
    )


USAGE = """usage: python -m intake [check | seed]

  python -m intake        serve the form and API on INTAKE_PORT, over the index at INDEX_DB_PATH
                          (which must be the Rails application's index: copy it from S3's
                          db/index.sqlite3 or from the Rails machine's /data/db/index.sqlite3)
  python -m intake check  check that index (exit 1 saying how to get it if it is missing),
                          create or migrate the pipeline's own tables in it, and exit
  python -m intake seed   only with SHOWCASE_DEV_MODE=1 (the local run): create an index with
                          made-up logins (admin/admin, studio/studio) when there is none;
                          elsewhere it only checks that the index is there (exit 1 if not)"""


def prepare_index(settings: IntakeSettings, *, seeding: bool) -> None:
    """Seed (when asked, in the local run, and there is no index), then create or migrate the
    pipeline's own tables. Raises `NotAnIndex` or `SchemaTooNew` (`CannotStart`: the runner
    prints what to do and exits 1)."""
    if seeding and settings.showcase_dev_mode:
        seed(settings.index_db_path)
    elif seeding or not settings.index_db_path.exists():
        # outside the local run nothing invents logins; and SQLite would make an empty file
        require_index(settings.index_db_path)
    db = Database(make_engine(settings.index_db_path))
    try:
        create_schema(db.engine)
        if seeding:  # the index host's showcases.yml, for an index intake has not served yet
            with db.session() as session:
                ShowcasesFile(settings.showcases_yml_path).write(session)
    finally:
        db.engine.dispose()


def intake_app(settings: IntakeSettings, deps: RouteDeps) -> FastAPI:
    """The routes, error handlers and middleware over `deps`."""

    app = FastAPI(title="Showcase intake", version="1.0")
    app.state.route_deps = deps
    validation_errors.install(app)
    _count_invalid_bodies(app)
    app.add_exception_handler(Saturated, _busy)
    errors_html.install(app, deps.templates)
    app.include_router(api_router)
    exact_openapi(app, (ShowcaseIn,), add_examples)
    metrics.mount(app, settings.metrics_bearer)
    app.mount(
        "/static", StaticFiles(directory=PACKAGE_DIR / "static", check_dir=False), name="static"
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        on_refused=metrics.REFUSALS.labels("too_large").inc,
    )
    app.add_middleware(
        SecurityHeaders,
        csp=page_csp(settings.public_gateway_url),
        hsts=not settings.showcase_dev_mode,  # https answers only (the scheme a proxy told)
    )
    app.add_middleware(LaterCookies)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(  # outermost: every line (and the throttle) sees the client's address
        ClientAddressMiddleware,
        fly=settings.intake_fly_proxy,
        trusted=parse_networks(settings.intake_trusted_proxies),
    )
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
