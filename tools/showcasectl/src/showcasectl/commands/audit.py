"""`showcasectl audit`: who did what to the pipeline, and why."""

from __future__ import annotations

from typing import Annotated

import typer

from showcasectl import output
from showcasectl.audit_trail import read_actions
from showcasectl.commands.common import OK, Json, NatsUrl, run, settings, usage
from showcasectl.stream_reader import open_bus
from showcasectl.timeparse import parse_since

EXAMPLES = """
Examples:

  showcasectl audit                      # every recorded operator action, oldest first
  showcasectl audit --since 1d --json    # the last day, for scripts
  showcasectl audit --last 20

Recorded: pause, resume, rollback, pin, unpin, replay, apply, dlq retry/drop, and a studio's or
an admin's Retry, each with its actor (--as, the OS user, or the logged-in user on the web) and
reason. Kept a year by default (AUDIT_MAX_AGE_DAYS), in the stream SHOWCASE_AUDIT.
"""


def audit(
    since: Annotated[
        str | None, typer.Option(help="Only actions since a time or an age (2h, 1d, 2026-11-29).")
    ] = None,
    last: Annotated[int | None, typer.Option(min=1, help="Only the last N actions.")] = None,
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """List the operator actions with who did them and why."""
    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        raise usage(str(exc)) from None

    async def work() -> int:
        async with open_bus(settings(nats_url).nats_url) as js:
            actions = await read_actions(js, start, last)
        if json_out:
            output.emit_json([a.as_json() for a in actions])
            return OK
        rows = [
            (
                a.seq,
                a.action.at,
                a.action.action,
                a.action.actor,
                a.action.via,
                a.action.reason,
                ", ".join(f"{k}={v}" for k, v in a.action.details.items()),
            )
            for a in actions
        ]
        columns = ("seq", "time (UTC)", "action", "actor", "via", "reason", "details")
        output.console().print(output.table("Operator actions", columns, rows))
        return OK

    raise typer.Exit(run(work))
