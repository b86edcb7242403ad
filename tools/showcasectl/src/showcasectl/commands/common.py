"""What every command shares: the options, the settings, and turning failures into exit codes.

Exit codes scripts can trust: 0 all is well, 1 a problem was found (or the bus is unreachable),
2 the command line was wrong (click's own usage errors use 2 as well).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, TypeVar

import typer
from nats.js.errors import NotFoundError
from showcase_common.bus.errors import BusUnavailable

from showcasectl.config import CtlSettings
from showcasectl.output import note

OK, PROBLEM, USAGE = 0, 1, 2

NatsUrl = Annotated[
    str | None,
    typer.Option(
        "--nats-url",
        envvar="NATS_URL",
        help="NATS server URL (default nats://127.0.0.1:4222)",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
Actor = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Who does it, for the audit trail (default: your login).",
        show_default=False,
    ),
]
Reason = Annotated[str, typer.Option("--reason", help="Why, for the audit trail and the status.")]

T = TypeVar("T")


def settings(nats_url: str | None = None) -> CtlSettings:
    """The environment's settings, with the command line's NATS URL on top."""
    current = CtlSettings()
    if nats_url:
        current.nats_url = nats_url
    return current


def run(work: Callable[[], Coroutine[object, object, T]]) -> T:
    """Run one command's coroutine; an unreachable bus or a missing stream is a problem (1)."""
    try:
        return asyncio.run(work())
    except BusUnavailable as exc:
        note(f"[red]{exc}[/red]")
        raise typer.Exit(PROBLEM) from None
    except KeyboardInterrupt:  # the way out of --follow and `alerts run`
        raise typer.Exit(OK) from None
    except NotFoundError as exc:
        note(f"[red]not found: {exc.description or exc}[/red]")
        raise typer.Exit(PROBLEM) from None


def usage(message: str) -> typer.Exit:
    """A wrong command line: say why on stderr and exit with 2."""
    note(f"[red]usage:[/red] {message} (see --help)")
    return typer.Exit(USAGE)
