"""`showcasectl topology`: who publishes and who consumes each event, with the handler of every
consumer (`showcase_common.topology`, checked against every service's handler tables); and
`showcasectl asyncapi`: the same as an AsyncAPI 3 document (`docs/asyncapi.yaml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from showcase_common.docs import rewrite_section
from showcase_common.events import EVENT_TYPES
from showcase_common.topology import PARTIES, Consumes, Party, consumers_of, publishers_of

from showcasectl import asyncapi, output
from showcasectl.commands.common import Json

EXAMPLES = """
Examples:

  showcasectl topology              # every subject: its event, publishers, consumers, handlers
  showcasectl topology --markdown   # the table of docs/ARCHITECTURE.md
  showcasectl topology --write docs/ARCHITECTURE.md   # put it there (`make docs`)
  showcasectl topology --json       # for scripts (the parties, their publishes and consumers)

Nothing is contacted: this is the declaration every service is tested against.
"""

COLUMNS = ("subject", "event", "published by", "consumed by (durable)", "handler")
SECTION = "topology"
"""The table's section in docs/ARCHITECTURE.md (`showcase_common.docs`)."""


def rows() -> list[tuple[str, str, str, str, str]]:
    """One row per event type and consumer (a row with no consumer when it has none)."""
    table: list[tuple[str, str, str, str, str]] = []
    for event in sorted(EVENT_TYPES, key=lambda e: e.subject):
        published = ", ".join(publishers_of(event)) or "—"
        consumers: list[tuple[Party, Consumes] | None] = [*consumers_of(event)] or [None]
        for consumer in consumers:
            who, handler = ("—", "—")
            if consumer is not None:
                party, consumes = consumer
                who, handler = f"{party.name} ({consumes.durable})", consumes.handler
            table.append((event.subject, event.__name__, published, who, handler))
    return table


def markdown() -> str:
    """The table as Markdown (docs/ARCHITECTURE.md holds it; a test keeps it current)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(f"`{c}`" if c != "—" else c for c in row) + " |" for row in rows()]
    return "\n".join(lines) + "\n"


def topology(
    markdown_out: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown table of the docs.")
    ] = False,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            help="Rewrite the table between the topology markers of this Markdown file.",
        ),
    ] = None,
    json_out: Json = False,
) -> None:
    """Every event's subject, publishers, consumers and their handlers."""
    if write is not None:
        changed = rewrite_section(write, SECTION, markdown())
        typer.echo(f"{write}: the bus table {'was rewritten' if changed else 'was current'}")
    elif json_out:
        output.emit_json(
            [
                {
                    "party": p.name,
                    "publishes": [e.subject for e in p.publishes],
                    "republishes": p.republishes,
                    "consumes": [
                        {"durable": c.durable, "subjects": c.subjects, "handler": c.handler}
                        for c in p.consumes
                    ],
                }
                for p in PARTIES
            ]
        )
    elif markdown_out:
        typer.echo(markdown(), nl=False)
    else:
        output.console().print(
            output.table("The bus: who publishes, who consumes", COLUMNS, rows())
        )


def asyncapi_document() -> None:
    """Print the AsyncAPI 3 document of the bus (what docs/asyncapi.yaml holds)."""
    typer.echo(dump_asyncapi(), nl=False)


class _Dumper(yaml.SafeDumper):
    """Multi-paragraph texts as literal blocks (readable in the file)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_asyncapi() -> str:
    return yaml.dump(
        asyncapi.document(), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True
    )
