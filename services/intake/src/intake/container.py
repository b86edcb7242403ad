"""Everything the routes need, built once by `bootstrap.create_app`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from anyio import CapacityLimiter
from fastapi.templating import Jinja2Templates

from intake.admin_apply import AdminApply
from intake.config import IntakeSettings
from intake.credential_cache import VerifiedCredentials
from intake.db import Database
from intake.fleet_desk import FleetDesk
from intake.mail import MailRelay
from intake.outcomes import Outcomes
from intake.ports import Bus, Mailer
from intake.relay import OutboxRelay
from intake.security import Signer
from intake.service import IntakeService
from intake.showcases_file import ShowcasesFileRefresher
from intake.throttle import LoginThrottle


@dataclass
class Container:
    settings: IntakeSettings
    db: Database
    bus: Bus
    mailer: Mailer
    clock: Callable[[], dt.datetime]
    relay: OutboxRelay
    mail_relay: MailRelay
    outcomes: Outcomes
    """Records each request's outcome and the studio's e-mail (fed by the bus consumer)."""
    service: IntakeService
    showcases_file: ShowcasesFileRefresher
    templates: Jinja2Templates
    credentials: VerifiedCredentials
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
