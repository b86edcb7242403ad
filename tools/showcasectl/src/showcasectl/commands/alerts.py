"""`showcasectl alerts run`: the live admin alerts (one e-mail per failed request), a service on
the one runner (no HTTP): its `ports` and `build` below."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import Annotated

import typer
from showcase_common import subjects
from showcase_common.bus.link import NatsLink
from showcase_common.runner import Service, nats_link, run

from showcasectl.alerts import Mailer, SmtpMailer, build_consumer
from showcasectl.commands.common import NatsUrl, settings
from showcasectl.config import CtlSettings

EXAMPLES = """
Examples:

  SMTP_HOST=mail.internal ADMIN_EMAIL=ops@studio.example showcasectl alerts run

Environment: SMTP_HOST (127.0.0.1), SMTP_PORT (1025), SMTP_FROM, ADMIN_EMAIL (or SMTP_TO).
Consumes IndexSyncFailed and FleetUpdateFailed with the durable "admin-alerts" and mails the
admin address once per request (KV admin_alerts remembers); failures older than --max-age
(a first start reads the whole stream) are not mailed. Stops on SIGTERM or Ctrl-C.
"""

NAME = "showcasectl-alerts"

app = typer.Typer(help="Admin alerts by e-mail.", epilog=EXAMPLES, no_args_is_help=True)


@app.command("run")
def run_(
    max_age: Annotated[float, typer.Option(help="Seconds: older failures are not mailed.")] = 24
    * 3600.0,
    nats_url: NatsUrl = None,
) -> None:
    """Run the alert consumer until stopped."""
    current = settings(nats_url).model_copy(update={"service_name": NAME})
    run(lambda: current, ports, partial(build, max_age_s=max_age))


@dataclass
class AlerterPorts:
    mailer: Mailer
    nats: NatsLink


def ports(settings: CtlSettings) -> AlerterPorts:
    """SMTP to the admin address; NATS (opened by the runner) with the alert ledger's bucket."""
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.admin_email,
        settings.smtp_timeout_s,
    )
    link = nats_link(settings, buckets=[subjects.ADMIN_ALERTS_BUCKET])
    return AlerterPorts(mailer=mailer, nats=link)


def build(settings: CtlSettings, ports: AlerterPorts, *, max_age_s: float) -> Service:
    """The alerter: no HTTP, the consumer once NATS is up."""
    link = ports.nats

    async def consume(stop: asyncio.Event) -> None:
        consumer = await build_consumer(
            link.jetstream(), ports.mailer, max_age_s=max_age_s, replicas=settings.nats_replicas
        )
        await consumer.run(stop)

    return Service(name=NAME, on_nats=[consume])
