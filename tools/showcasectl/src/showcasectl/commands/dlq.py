"""`showcasectl dlq`: the events the pipeline gave up on, with the last error."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.pretty import Pretty
from rich.table import Table

from showcasectl import output
from showcasectl.commands.common import (
    OK,
    PROBLEM,
    Actor,
    Json,
    NatsUrl,
    Reason,
    run,
    settings,
)
from showcasectl.dlq import DeadLetter, RetryRefused, drop, list_dead_letters, retry, show
from showcasectl.operator_actions import record
from showcasectl.output import note
from showcasectl.stream_reader import open_bus

EXAMPLES = """
Examples:

  showcasectl dlq list                 # what was given up on, by whom, and why
  showcasectl dlq show 3 --json        # one dead letter with its payload
  showcasectl dlq retry 3              # after the fix: re-publish it, then forget it
  showcasectl dlq drop 3 --yes         # give up for good

IDs are sequences in the SHOWCASE_DLQ stream. The consumer loop puts messages there itself
when it gives up on them (undecodable, a permanent error, or its last delivery failed).
"""

app = typer.Typer(
    help="Dead-lettered events: list, show, retry or drop them.",
    epilog=EXAMPLES,
    no_args_is_help=True,
)
DlqId = Annotated[int, typer.Argument(help="The dead letter's id (its DLQ stream sequence).")]


@app.command("list")
def list_(json_out: Json = False, nats_url: NatsUrl = None) -> None:
    """List the dead letters, oldest first (exit 1 when there are any)."""

    async def work() -> int:
        async with open_bus(settings(nats_url).nats_url) as js:
            letters = await list_dead_letters(js)
        if json_out:
            output.emit_json([d.as_json() for d in letters])
        else:
            output.console().print(_table(letters))
        return int(bool(letters))

    raise typer.Exit(run(work))


@app.command("show")
def show_(dlq_id: DlqId, json_out: Json = False, nats_url: NatsUrl = None) -> None:
    """Show one dead letter with its payload."""

    async def work() -> int:
        async with open_bus(settings(nats_url).nats_url) as js:
            letter = await show(js, dlq_id)
        if json_out:
            output.emit_json(letter.as_json(payload=True))
        else:
            out = output.console()
            out.print(_table([letter]))
            out.print(Pretty(letter.msg.payload()))
        return OK

    raise typer.Exit(run(work))


@app.command("retry")
def retry_(
    dlq_id: DlqId,
    reason: Reason = "",
    actor: Actor = None,
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """Re-publish the original event to its subject (fresh msg id), then delete the letter."""
    current = settings(nats_url)

    async def work() -> int:
        async with open_bus(current.nats_url) as js:
            try:
                letter, seq = await retry(js, dlq_id)
            except RetryRefused as exc:
                note(f"[red]refused:[/red] {exc}")
                return PROBLEM
            await record(
                js,
                current,
                "dlq_retry",
                actor,
                reason,
                dlq_id=dlq_id,
                subject=letter.original_subject,
                new_seq=seq,
            )
        if json_out:
            output.emit_json({**letter.as_json(), "action": "retried", "new_seq": seq})
        else:
            output.console().print(
                f"dead letter {dlq_id} re-published to {letter.original_subject} as seq {seq}"
            )
        return OK

    raise typer.Exit(run(work))


@app.command("drop")
def drop_(
    dlq_id: DlqId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    reason: Reason = "",
    actor: Actor = None,
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """Delete a dead letter for good."""
    if not yes:
        typer.confirm(f"Drop dead letter {dlq_id} for good?", abort=True)
    current = settings(nats_url)

    async def work() -> int:
        async with open_bus(current.nats_url) as js:
            letter = await drop(js, dlq_id)
            await record(
                js,
                current,
                "dlq_drop",
                actor,
                reason,
                dlq_id=dlq_id,
                subject=letter.original_subject,
                consumer=letter.consumer,
            )
        if json_out:
            output.emit_json({**letter.as_json(), "action": "dropped"})
        else:
            output.console().print(f"dead letter {dlq_id} dropped")
        return OK

    raise typer.Exit(run(work))


def _table(letters: list[DeadLetter]) -> Table:
    return output.table(
        "Dead letters",
        ("id", "time (UTC)", "consumer", "subject", "orig seq", "attempts", "last error"),
        [
            (d.id, d.time, d.consumer, d.original_subject, d.original_seq, d.attempts, d.error)
            for d in letters
        ],
    )
