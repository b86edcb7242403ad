"""`showcasectl rollback` / `unpin`: every machine back to an older generation, and forward."""

from __future__ import annotations

from typing import Annotated

import typer
from showcase_common.audit import os_user

from showcasectl import rollback as rollbacks
from showcasectl.commands.common import PROBLEM, Actor, Json, NatsUrl, Reason, run, settings
from showcasectl.commands.control import report
from showcasectl.stream_reader import open_bus

ROLLBACK_EXAMPLES = """
Examples:

  showcasectl rollback --reason "generation 42 broke the heat sheets"   # to the previous one
  showcasectl rollback --to 40 --pin --as alice     # to 40, and stay there until `unpin`
  showcasectl rollback --json --no-wait

Pins S3's pointer to the generation (a booting machine catches up to it, not to the newest) and
has the updater take every running machine there: each call is signed with the update secret and
names you; agents refuse an older generation any other way. Without --pin the next request rolls
the fleet forward; with --pin newer generations wait (their requests say so) until `unpin`.
Refused (exit 1, nothing changed) when the generation is no longer in S3. Audited.
"""

UNPIN_EXAMPLES = """
Examples:

  showcasectl unpin --reason "fixed in 43"

Lifts the pin and rolls the current index out to every machine (as `apply`). Refused (exit 1)
when the fleet is not pinned. Audited.
"""


def rollback(
    to: Annotated[
        int | None, typer.Option("--to", min=1, help="The generation (default: the previous one).")
    ] = None,
    pin: Annotated[bool, typer.Option("--pin", help="Stay there until `unpin`.")] = False,
    wait: Annotated[bool, typer.Option(help="Wait for every machine's verdict.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the verdict.")] = 600.0,
    reason: Reason = "",
    actor: Actor = None,
    json_out: Json = False,
    nats_url: NatsUrl = None,
) -> None:
    """Roll every machine back to an older generation (signed, audited; optionally pinned)."""
    current = settings(nats_url)

    async def work() -> int:
        async with open_bus(current.nats_url) as js:
            outcome, seq = await rollbacks.rollback(
                js, current, actor or os_user(), reason, to=to, hold=pin
            )
            if seq is not None and wait and outcome.details:
                generation = int(outcome.details["generation"])
                verdict = await rollbacks.follow(js, seq, generation, timeout)
                outcome.details["verdict"] = verdict
                outcome.message += f"; verdict: {verdict}"
                if verdict != "completed":
                    outcome.refused = True
        return report(outcome, json_out)

    raise typer.Exit(run(work))


def unpin(
    reason: Reason = "", actor: Actor = None, json_out: Json = False, nats_url: NatsUrl = None
) -> None:
    """Lift a rollback's pin and roll the current index out."""
    current = settings(nats_url)

    async def work() -> int:
        async with open_bus(current.nats_url) as js:
            outcome = await rollbacks.unpin(js, current, actor or os_user(), reason)
        return report(outcome, json_out)

    raise typer.Exit(run(work))


__all__ = ["PROBLEM", "rollback", "unpin"]
