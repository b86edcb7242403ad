"""The `showcasectl` command line: one Typer app gathering every command."""

from __future__ import annotations

import typer

from showcasectl.commands import (
    alerts,
    apply,
    audit,
    control,
    dlq,
    events,
    replay,
    requests,
    rollback,
    status,
    topology,
)

HELP = """
The operator's view of the showcase pipeline, against the live bus (NATS JetStream).

Every listing takes --json; every command takes --nats-url (or NATS_URL).
Exit codes: 0 all is well, 1 a problem was found (stuck, failed, not found, unreachable),
2 a wrong command line.
"""

app = typer.Typer(
    name="showcasectl",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command(epilog=events.EXAMPLES)(events.events)
app.command(epilog=replay.EXAMPLES)(replay.replay)
app.command(epilog=status.EXAMPLES)(status.status)
app.command(epilog=apply.EXAMPLES)(apply.apply)
app.command(epilog=requests.EXAMPLES)(requests.requests)
app.command(epilog=control.PAUSE_EXAMPLES)(control.pause)
app.command(epilog=control.RESUME_EXAMPLES)(control.resume)
app.command(epilog=rollback.ROLLBACK_EXAMPLES)(rollback.rollback)
app.command(epilog=rollback.UNPIN_EXAMPLES)(rollback.unpin)
app.command(epilog=audit.EXAMPLES)(audit.audit)
app.command(epilog=topology.EXAMPLES)(topology.topology)
app.command("asyncapi")(topology.asyncapi_document)
app.add_typer(dlq.app, name="dlq")
app.add_typer(alerts.app, name="alerts")
