"""`RouteDeps`: what intake's routes depend on, built once by `bootstrap.build` (its
`build_route_deps`) and reached in a route through the FastAPI dependency `web.deps.Deps`
(`deps: Deps`). The gateway's routes have their own `RouteDeps`, reached the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from anyio import CapacityLimiter
from fastapi.templating import Jinja2Templates
from showcase_common.mail import Mailer

from intake.admin_apply import AdminApply
from intake.config import IntakeSettings
from intake.credential_cache import VerifiedCredentials
from intake.db_lanes import Database
from intake.fleet_desk import FleetDesk
from intake.loop_reads import LoopReads
from intake.mail import MailRelay
from intake.outcomes import Outcomes
from intake.ports import Pipeline
from intake.relay import OutboxRelay
from intake.security import Signer
from intake.showcases_file import ShowcasesFileRefresher
from intake.throttle import LoginThrottle
from intake.use_cases import UseCases


@dataclass
class RouteDeps:
    """The settings, the database, the ports and the parts built over them."""

    settings: IntakeSettings
    db: Database
    pipeline: Pipeline
    mailer: Mailer
    clock: Callable[[], dt.datetime]
    relay: OutboxRelay
    mail_relay: MailRelay
    outcomes: Outcomes
    """Records each request's outcome and the studio's e-mail (fed by the bus consumer)."""
    use_cases: UseCases
    showcases_file: ShowcasesFileRefresher
    templates: Jinja2Templates
    credentials: VerifiedCredentials
    reads: LoopReads
    """Reads a login's row in the event loop (the cache's hit path)."""
    password_checks: CapacityLimiter
    """Bounds the password verifications running at once."""
    throttle: LoginThrottle
    csrf: Signer
    flash: Signer
    known_device: Signer
    """Signs the "known device" cookie a successful login leaves (throttle.py: the owner's path)."""
    fleet: FleetDesk
    """The admin page's view of the fleet (pause, pin, machines, actions) and its pause."""
    admin_apply: AdminApply
    """What Apply would change, and the tracked roll-out it starts."""
