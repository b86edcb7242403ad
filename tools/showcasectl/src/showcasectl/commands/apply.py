"""`showcasectl apply`: roll out the current index, with a live progress bar."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from showcase_common.audit import os_user

from showcasectl import output
from showcasectl.apply import Rollout, follow, request_rollout
from showcasectl.commands.common import OK, PROBLEM, Json, NatsUrl, Reason, run, settings
from showcasectl.operator_actions import record
from showcasectl.stream_reader import open_bus

EXAMPLES = """
Examples:

  showcasectl apply                 # after admins created showcases by hand: roll them out
  showcasectl apply --json          # wait, then print the outcome as JSON
  showcasectl apply --no-wait       # only ask for it

The syncer snapshots the index, the updater rolls it out; the bar follows their step events.
Exit 1 when the roll-out fails or gives no verdict within --timeout.
"""


def apply(
    wait: Annotated[bool, typer.Option(help="Follow the roll-out to its end.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the verdict.")] = 600.0,
    by: Annotated[
        str | None,
        typer.Option("--as", "--by", help="Who asks, for the audit trail (default: your login)."),
    ] = None,
    reason: Reason = "",
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """Publish RolloutRequested and follow it: sync → each machine → fleet updated."""
    requested_by = by or os_user()
    current = settings(nats_url)

    async def work() -> int:
        async with open_bus(current.nats_url) as js:
            rollout = await request_rollout(js, requested_by)
            await record(js, current, "apply", requested_by, reason, request_seq=rollout.seq)
            if wait:
                with _bar(json_out) as bar:
                    task = bar.add_task(rollout.message, total=100, completed=rollout.progress)

                    def show(r: Rollout) -> None:
                        bar.update(task, completed=r.progress, description=r.message)

                    rollout = await follow(js, rollout, show, timeout_s=timeout)
        _report(rollout, json_out)
        return OK if rollout.outcome in ("completed", "running") else PROBLEM

    raise typer.Exit(run(work))


def _bar(json_out: bool) -> Progress:
    # On stderr, so that --json output stays alone on stdout.
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=output.err_console(),
        disable=json_out,
    )


def _report(rollout: Rollout, json_out: bool) -> None:
    if json_out:
        output.emit_json(rollout.as_json())
        return
    colour = {"completed": "green", "running": "cyan"}.get(rollout.outcome, "red")
    output.console().print(f"[{colour}]{rollout.outcome}[/{colour}]: {rollout.message}")
