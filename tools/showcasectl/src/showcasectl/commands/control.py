"""`showcasectl pause` / `resume`: hold roll-outs (syncs go on, no machine is updated)."""

from __future__ import annotations

import typer
from showcase_common.audit import os_user

from showcasectl import operator_actions, output
from showcasectl.commands.common import OK, PROBLEM, Actor, Json, NatsUrl, Reason, run, settings
from showcasectl.operator_actions import Outcome
from showcasectl.stream_reader import open_bus

PAUSE_EXAMPLES = """
Examples:

  showcasectl pause --reason "prerender broken on iad, investigating"
  showcasectl pause --as alice --reason "maintenance" --json

While paused, new requests are saved and their index is published, but no machine is updated:
their progress says "Updates are paused by the operators…" and they complete after `resume`
without anyone retrying. The pause lives in the bus (KV fleet_control) and survives restarts.
Pausing a paused fleet changes nothing (exit 0). Recorded in the audit trail (`audit`).
"""

RESUME_EXAMPLES = """
Examples:

  showcasectl resume --reason "fixed"

Waiting roll-outs go on at once. Refused (exit 1, nothing changed) when updates are not paused.
"""


def pause(
    reason: Reason = "", actor: Actor = None, json_out: Json = False, nats_url: NatsUrl = None
) -> None:
    """Pause roll-outs: no machine is updated until `resume`; requests wait, visibly."""
    current = settings(nats_url)

    async def work() -> int:
        async with open_bus(current.nats_url) as js:
            outcome = await operator_actions.pause(js, current, actor or os_user(), reason)
        return report(outcome, json_out)

    raise typer.Exit(run(work))


def resume(
    reason: Reason = "", actor: Actor = None, json_out: Json = False, nats_url: NatsUrl = None
) -> None:
    """Resume roll-outs: the requests that waited go live without a retry."""
    current = settings(nats_url)

    async def work() -> int:
        async with open_bus(current.nats_url) as js:
            outcome = await operator_actions.resume(js, current, actor or os_user(), reason)
        return report(outcome, json_out)

    raise typer.Exit(run(work))


def report(outcome: Outcome, json_out: bool) -> int:
    """Print an action's outcome; exit 1 when it was refused."""
    if json_out:
        output.emit_json(outcome.as_json())
    elif outcome.refused:
        output.note(f"[red]refused:[/red] {outcome.message}")
    else:
        colour = "green" if outcome.changed else "yellow"
        output.console().print(f"[{colour}]{outcome.message}[/{colour}]")
    return PROBLEM if outcome.refused else OK
