"""`showcasectl alerts run`: the live admin alerts (one e-mail per failed or stuck request) and
the stuck watch, a service on the one runner (no HTTP) whose composition root is
`showcasectl.bootstrap`."""

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
  showcasectl alerts run --stuck-after 600 --stuck-policy alert   # tell, never fail

Environment: SMTP_HOST (127.0.0.1), SMTP_PORT (1025), SMTP_FROM, ADMIN_EMAIL (or SMTP_TO),
STUCK_AFTER_S (300), STUCK_POLICY (fail), STUCK_CHECK_INTERVAL_S (10).
Consumes IndexSyncFailed, FleetUpdateFailed and RequestStuck with the durable "admin-alerts" and
mails the admin address once per request (KV admin_alerts remembers); failures older than
--max-age (a first start reads the whole stream) are not mailed.
The stuck watch (durable "stuck-watch", KV stuck_watch) fails a request with no progress for
--stuck-after seconds (the studio sees it stopped, with Retry), or with --stuck-policy alert only
mails the admins; never while roll-outs are paused or pinned, and each clock restarts when they
resume. Stops on SIGTERM or Ctrl-C.
"""

app = typer.Typer(help="Admin alerts by e-mail.", epilog=EXAMPLES, no_args_is_help=True)


@app.command("run")
def run_(
    max_age: Annotated[float, typer.Option(help="Seconds: older failures are not mailed.")] = 24
    * 3600.0,
    stuck_after: Annotated[
        float | None,
        typer.Option(
            help="Seconds without progress before a request is stuck (env STUCK_AFTER_S, 300).",
            show_default=False,
            min=0.1,
        ),
    ] = None,
    stuck_policy: Annotated[
        str | None,
        typer.Option(
            help="fail: fail a stuck request (Retry for the studio); alert: only mail the "
            "admins (env STUCK_POLICY, fail).",
            show_default=False,
        ),
    ] = None,
    nats_url: NatsUrl = None,
) -> None:
    """Run the alert consumer and the stuck watch until stopped."""
    if stuck_policy not in (None, "fail", "alert"):
        raise typer.BadParameter(
            f"must be fail or alert, not {stuck_policy!r}", param_hint="--stuck-policy"
        )
    given = {"stuck_after_s": stuck_after, "stuck_policy": stuck_policy}
    current = AlerterSettings(alerts_max_age_s=max_age).model_copy(
        update={name: value for name, value in given.items() if value is not None}
    )
    if nats_url:
        current.nats_url = nats_url
    raise typer.Exit(run(lambda: current, ports, build, argv=[]))
