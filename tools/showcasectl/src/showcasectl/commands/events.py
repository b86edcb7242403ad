"""`showcasectl events`: a request's events, or the stream's, in order and timed."""

from __future__ import annotations

from typing import Annotated

import typer
from nats.js.client import JetStreamContext
from rich.table import Table
from showcase_common import subjects

from showcasectl import output
from showcasectl.commands.common import OK, PROBLEM, Json, NatsUrl, run, settings, usage
from showcasectl.history import EventRow, request_messages, stream_rows, timeline
from showcasectl.stream_reader import Start, open_bus
from showcasectl.timeparse import parse_since

EXAMPLES = """
Examples:

  showcasectl events --request 4f1c…            # what happened to one request, step by step
  showcasectl events --since 2h                 # the last two hours of the pipeline
  showcasectl events --from-seq 1200 --subject 'showcase.fleet.>'
  showcasectl events --follow --json            # tail new events as JSON lines
"""

COLUMNS = ("seq", "time (UTC)", "event", "step took", "since first", "requests", "what")


def events(
    request: Annotated[
        str | None, typer.Option("--request", "-r", help="Only this request's events.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Start at a time (ISO) or an age (30m, 2h, 1d).")
    ] = None,
    from_seq: Annotated[int | None, typer.Option(help="Start at this stream sequence.")] = None,
    subject: Annotated[str, typer.Option(help="Only this subject (wildcards allowed).")] = (
        subjects.ALL_SUBJECTS
    ),
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new events.")] = (
        False
    ),
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """List events in stream order with their times and how long each step took."""
    if request and (since or from_seq is not None or follow):
        raise usage("--request cannot be combined with --since, --from-seq or --follow")
    if since and from_seq is not None:
        raise usage("give --since or --from-seq, not both")
    if not (request or since or from_seq is not None or follow):
        raise usage("give --request ID, --since TIME, --from-seq N or --follow")
    url = settings(nats_url).nats_url
    if request:
        raise typer.Exit(run(lambda: _request(url, request, json_out)))
    try:
        start = Start(seq=from_seq, time=parse_since(since) if since else None)
    except ValueError as exc:
        raise usage(str(exc)) from None
    raise typer.Exit(run(lambda: _stream(url, start, subject, follow, json_out)))


async def _request(url: str, request_id: str, json_out: bool) -> int:
    async with open_bus(url) as js:
        rows = timeline(await request_messages(js, request_id))
    total = round(rows[-1].since_first_s, 3) if rows else None
    if json_out:
        output.emit_json(
            {"request_id": request_id, "total_s": total, "events": [r.as_json() for r in rows]}
        )
    else:
        output.console().print(_table(f"Request {request_id}", rows))
        if rows:
            output.note(f"{len(rows)} events over {output.seconds(total)}")
    if not rows:
        output.note(f"[yellow]no events name request {request_id}[/yellow]")
        return PROBLEM
    return OK


async def _stream(url: str, start: Start, subject: str, follow: bool, json_out: bool) -> int:
    async with open_bus(url) as js:
        if follow and start == Start():
            start = await _after_last(js)
        if follow:
            await _print_live(js, start, subject, json_out)
            return OK
        rows = [r async for r in stream_rows(js, start, subject, follow=False)]
    if json_out:
        output.emit_json([r.as_json() for r in rows])
    else:
        output.console().print(_table(f"Events on {subject}", rows))
    return OK


async def _print_live(js: JetStreamContext, start: Start, subject: str, json_out: bool) -> None:
    if not json_out:
        output.note(f"following {subject} (Ctrl-C stops)")
    async for r in stream_rows(js, start, subject, follow=True):
        if json_out:
            output.emit_json_line(r.as_json())
        else:
            output.console().print(_table("", [r], header=False))


async def _after_last(js: JetStreamContext) -> Start:
    info = await js.stream_info(subjects.STREAM)
    return Start(seq=info.state.last_seq + 1)


def _table(title: str, rows: list[EventRow], *, header: bool = True) -> Table:
    table = output.table(
        title,
        COLUMNS,
        [
            (
                r.seq,
                r.time,
                r.type,
                output.seconds(r.since_previous_s),
                output.seconds(r.since_first_s),
                ", ".join(x[:8] for x in r.request_ids) or "-",
                r.summary,
            )
            for r in rows
        ],
    )
    table.show_header = header
    return table
