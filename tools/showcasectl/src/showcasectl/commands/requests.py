"""`showcasectl requests`: the requests and their state, as the studios see it."""

from __future__ import annotations

from typing import Annotated

import typer
from showcase_common.progress import Status

from showcasectl import output
from showcasectl.commands.common import OK, Json, NatsUrl, run, settings
from showcasectl.state import all_states
from showcasectl.stream_reader import open_bus

EXAMPLES = """
Examples:

  showcasectl requests                    # the latest requests, newest first
  showcasectl requests --status failed    # what needs a `showcasectl replay ID`
  showcasectl requests --json --limit 0   # all of them, for a script
"""


def requests(
    status: Annotated[Status | None, typer.Option(help="Only requests in this state.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (0: all).")] = 50,
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """List requests with their status, progress and step (from KV request_state)."""

    async def work() -> int:
        async with open_bus(settings(nats_url).nats_url) as js:
            states = [s for s in await all_states(js) if status is None or s.status == status]
        states = states[:limit] if limit else states
        if json_out:
            output.emit_json([s.model_dump(mode="json") for s in states])
        else:
            rows = [
                (
                    s.request_id,
                    s.user,
                    s.status,
                    s.progress,
                    s.step,
                    s.error or s.message,
                    s.updated_at,
                )
                for s in states
            ]
            columns = ("request", "user", "status", "%", "step", "message / error", "updated")
            output.console().print(output.table("Requests", columns, rows))
        return OK

    raise typer.Exit(run(work))
