"""`showcasectl alerts run`: the live admin alerts (one e-mail per failed request)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from showcase_common.bus import connect_until_up
from showcase_common.lifecycle import stop_on_signals
from showcase_common.logs import configure_logging

from showcasectl.alerts import SmtpMailer, build_consumer
from showcasectl.commands.common import OK, NatsUrl, run, settings
from showcasectl.config import CtlSettings

EXAMPLES = """
Examples:

  SMTP_HOST=mail.internal ADMIN_EMAIL=ops@studio.example showcasectl alerts run

Environment: SMTP_HOST (127.0.0.1), SMTP_PORT (1025), SMTP_FROM, ADMIN_EMAIL (or SMTP_TO).
Consumes IndexSyncFailed and FleetUpdateFailed with the durable "admin-alerts" and mails the
admin address once per request (KV admin_alerts remembers); failures older than --max-age
(a first start reads the whole stream) are not mailed. Stops on SIGTERM or Ctrl-C.
"""

app = typer.Typer(help="Admin alerts by e-mail.", epilog=EXAMPLES, no_args_is_help=True)


@app.command("run")
def run_(
    max_age: Annotated[float, typer.Option(help="Seconds: older failures are not mailed.")] = 24
    * 3600.0,
    nats_url: NatsUrl = None,
) -> None:
    """Run the alert consumer until stopped."""
    current = settings(nats_url)
    configure_logging("showcasectl-alerts", current.log_level, current.log_json)
    raise typer.Exit(run(lambda: _serve(current, max_age)))


async def _serve(current: CtlSettings, max_age_s: float) -> int:
    stop = asyncio.Event()
    stop_on_signals(stop)
    nc = await connect_until_up(current.nats_url, "showcasectl-alerts", stop)
    if nc is None:
        return OK
    try:
        mailer = SmtpMailer(
            current.smtp_host,
            current.smtp_port,
            current.smtp_from,
            current.admin_email,
            current.smtp_timeout_s,
        )
        consumer = await build_consumer(
            nc.jetstream(), mailer, max_age_s=max_age_s, replicas=current.nats_replicas
        )
        await consumer.run(stop)
    finally:
        await nc.drain()
    return OK
