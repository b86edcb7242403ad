"""`showcasectl alerts run`: the live admin alerts (one e-mail per failed request), a service on
the one runner (no HTTP) whose composition root is `showcasectl.bootstrap`."""

from __future__ import annotations

from typing import Annotated

import typer
from showcase_common.runner import run

from showcasectl.bootstrap import build, ports
from showcasectl.commands.common import NatsUrl
from showcasectl.config import AlerterSettings

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
    current = AlerterSettings(alerts_max_age_s=max_age)
    if nats_url:
        current.nats_url = nats_url
    raise typer.Exit(run(lambda: current, ports, build, argv=[]))
