"""`showcasectl status`: the pipeline's health; exit 1 when anything is stuck (a probe)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from showcase_common.fleet_status import machine_state

from showcasectl import output
from showcasectl.commands.common import OK, PROBLEM, Json, NatsUrl, run, settings
from showcasectl.status import Status, collect
from showcasectl.stream_reader import open_bus

EXAMPLES = """
Examples:

  showcasectl status                          # tables, and the problems found
  showcasectl status --json | jq .problems
  showcasectl status --stuck-after 60 || page-the-operator

Exit 1 when: a consumer's oldest unfinished event is older than --stuck-after, a machine serves
an older generation than S3 (or does not answer), the DLQ is not empty, or a request has been
processing without change for longer than --stuck-after. A roll-out in flight makes machines
briefly behind: probe with some patience.
"""


def status(
    stuck_after: Annotated[
        float | None,
        typer.Option(
            help="Seconds before a backlog or request counts as stuck (env STUCK_AFTER_S, default 300)."
        ),
    ] = None,
    fleet_file: Annotated[
        Path | None,
        typer.Option(help="The fleet YAML (env FLEET_FILE, default deploy/fleet.local.yaml)."),
    ] = None,
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """Streams, consumers' backlogs, generations in S3 and on each machine, failed requests."""
    current = settings(nats_url)
    if stuck_after is not None:
        current.stuck_after_s = stuck_after
    if fleet_file is not None:
        current.fleet_file = fleet_file

    async def work() -> int:
        async with open_bus(current.nats_url) as js:
            found = await collect(js, current)
        if json_out:
            output.emit_json(found.as_json())
        else:
            _print(found)
        return OK if found.ok else PROBLEM

    raise typer.Exit(run(work))


def _print(s: Status) -> None:
    out = output.console()
    if s.pin is not None:
        reason = f": {s.pin.reason}" if s.pin.reason else ""
        out.print(
            f"[yellow]Fleet PINNED[/yellow] to generation {s.pin.generation} by "
            f"{s.pin.by} {s.pin.until}{reason}"
        )
    if s.pause is not None:
        reason = f": {s.pause.reason}" if s.pause.reason else ""
        out.print(
            f"[yellow]Roll-outs PAUSED[/yellow] by {s.pause.paused_by} since "
            f"{s.pause.since:%Y-%m-%d %H:%M:%S} UTC{reason} (`showcasectl resume` to go on)"
        )
    out.print(
        output.table(
            "Streams",
            ("stream", "messages", "bytes", "first seq", "last seq"),
            [(x.name, x.messages, x.bytes, x.first_seq, x.last_seq) for x in s.streams],
        )
    )
    out.print(
        output.table(
            "Consumers",
            ("consumer", "backlog", "ack pending", "redelivered", "oldest (s)", "stuck"),
            [
                (
                    c.name,
                    c.pending,
                    c.ack_pending,
                    c.redelivered,
                    c.oldest_age_s,
                    "YES" if c.stuck else "",
                )
                for c in s.consumers
            ],
        )
    )
    out.print(
        output.table(
            f"Machines (S3 generation {s.s3_generation})",
            ("machine", "region", "protocol", "generation", "state"),
            [
                (
                    m.machine.id,
                    m.machine.region,
                    m.machine.protocol,
                    m.generation,
                    machine_state(m, newest=s.s3_generation, pin=s.pin),
                )
                for m in s.machines
            ],
        )
    )
    if s.failed or s.stuck_requests:
        out.print(
            output.table(
                "Requests needing attention",
                ("request", "status", "progress", "step", "message / error", "updated"),
                [
                    (r.request_id, r.status, r.progress, r.step, r.error or r.message, r.updated_at)
                    for r in [*s.stuck_requests, *s.failed]
                ],
            )
        )
    for problem in s.problems:
        output.note(f"[red]PROBLEM[/red] {problem}")
    if s.ok:
        output.note("[green]all good[/green]")
