"""`showcasectl replay`: re-drive one request, or re-publish a range, without doing anything twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from showcase_common import subjects

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
    usage,
)
from showcasectl.config import CtlSettings
from showcasectl.operator_actions import record
from showcasectl.replay import (
    RangeReplay,
    RequestNotFound,
    Step,
    execute,
    plan_range,
    replay_request,
)
from showcasectl.stream_reader import Start, open_bus
from showcasectl.timeparse import parse_since

EXAMPLES = """
Examples:

  showcasectl replay 4f1c…                      # re-drive from the step that failed
  showcasectl replay 4f1c… --from-step machines # only the machines that failed
  showcasectl replay --since 1d --dry-run       # what re-publishing a day would do
  showcasectl replay --subject showcase.index.synced --from-seq 1200 --to-seq 1300

Safe by construction: a range is re-published with each message's original Nats-Msg-Id, so
inside the duplicate window (24 h) JetStream drops it, and beyond it the consumers are
idempotent (the syncer's ledger, the updater's generation check). Nothing on the bus creates a
showcase or mails anyone, so neither kind of replay can.
"""


def replay(
    request_id: Annotated[str | None, typer.Argument(help="The request to re-drive.")] = None,
    from_step: Annotated[
        Step | None,
        typer.Option(help="Re-drive from this step (default: the step that failed, else sync)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Re-drive even a completed request.")] = False,
    subject: Annotated[str, typer.Option(help="Range: only this subject.")] = subjects.ALL_SUBJECTS,
    since: Annotated[str | None, typer.Option(help="Range: from a time or an age (2h).")] = None,
    from_seq: Annotated[int | None, typer.Option(help="Range: from this sequence.")] = None,
    to_seq: Annotated[int | None, typer.Option(help="Range: up to this sequence.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Only say what would happen.")] = False,
    reason: Reason = "",
    actor: Actor = None,
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """Re-drive one request (RetryRequested or MachinesRetryRequested), or re-publish a range
    of events."""
    current = settings(nats_url)
    url = current.nats_url
    who = Who(current, actor, reason)
    ranged = since is not None or from_seq is not None
    if request_id and ranged:
        raise usage("give a request id or a range (--since/--from-seq), not both")
    if not request_id and not ranged:
        raise usage("give a request id, or a range with --since or --from-seq")
    if since and from_seq is not None:
        raise usage("give --since or --from-seq, not both")
    if request_id:
        raise typer.Exit(
            run(lambda: _one(url, request_id, from_step, dry_run, force, json_out, who))
        )
    try:
        start = Start(seq=from_seq, time=parse_since(since) if since else None)
    except ValueError as exc:
        raise usage(str(exc)) from None
    raise typer.Exit(run(lambda: _range(url, subject, start, to_seq, dry_run, json_out, who)))


@dataclass(frozen=True)
class Who:
    """Who replays and why, for the audit trail (a dry run records nothing)."""

    settings: CtlSettings
    actor: str | None
    reason: str


async def _one(
    url: str,
    request_id: str,
    step: Step | None,
    dry_run: bool,
    force: bool,
    json_out: bool,
    who: Who,
) -> int:
    async with open_bus(url) as js:
        try:
            result = await replay_request(js, request_id, step, dry_run=dry_run, force=force)
        except RequestNotFound as exc:
            output.note(f"[red]{exc}[/red]")
            return PROBLEM
        if not dry_run and result.seq:
            await record(
                js,
                who.settings,
                "replay",
                who.actor,
                who.reason,
                request_id=request_id,
                from_step=result.from_step,
                machine_ids=list(result.machine_ids),
            )
    if json_out:
        output.emit_json(result.as_json())
    else:
        where = f" on {', '.join(result.machine_ids)}" if result.machine_ids else ""
        seq = f" (seq {result.seq})" if result.seq else ""
        output.console().print(
            f"{request_id}: {result.action}: retry from {result.from_step}{where}"
            f" — {result.reason}{seq}"
        )
    return OK


async def _range(
    url: str,
    subject: str,
    start: Start,
    to_seq: int | None,
    dry_run: bool,
    json_out: bool,
    who: Who,
) -> int:
    async with open_bus(url) as js:
        plan = await plan_range(js, subject, start, to_seq)
        if not dry_run:
            plan = await execute(js, plan)
            await record(
                js,
                who.settings,
                "replay",
                who.actor,
                who.reason,
                subject=subject,
                from_seq=start.seq,
                since=start.time.isoformat() if start.time else None,
                to_seq=to_seq,
                counts=plan.counts(),
            )
    _print_range(plan, json_out)
    return OK


def _print_range(plan: RangeReplay, json_out: bool) -> None:
    if json_out:
        output.emit_json(
            {
                "dry_run": plan.dry_run,
                "counts": plan.counts(),
                "messages": [p.as_json() for p in plan.planned],
            }
        )
        return
    rows = [
        (
            p.msg.seq,
            p.msg.time,
            p.msg.subject,
            p.action,
            p.reason,
            "dropped (duplicate)" if p.duplicate else p.new_seq,
        )
        for p in plan.planned
    ]
    title = "Replay (dry run)" if plan.dry_run else "Replay"
    columns = ("seq", "time (UTC)", "subject", "action", "why it is safe", "new seq")
    output.console().print(output.table(title, columns, rows))
    output.note(", ".join(f"{v} {k}" for k, v in plan.counts().items()))
