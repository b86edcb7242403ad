"""Output for people (rich tables on stdout) or for scripts (`--json`: one JSON document).

Notes and progress go to stderr so stdout stays parseable, whatever the mode.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def console() -> Console:
    """A console on the current stdout (made per call: test runners swap sys.stdout)."""
    width = int(os.environ.get("COLUMNS", "0")) or None
    return Console(file=sys.stdout, width=width or (None if sys.stdout.isatty() else 160))


def err_console() -> Console:
    return Console(file=sys.stderr, width=None if sys.stderr.isatty() else 160)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=_default, ensure_ascii=False, indent=2) + "\n")


def emit_json_line(value: Any) -> None:
    """One JSON object a line (for `--follow`, where the document never ends)."""
    sys.stdout.write(json.dumps(value, default=_default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column, overflow="fold")
    for values in rows:
        out.add_row(*(_cell(v) for v in values))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"+{value:.2f}s" if value < 120 else f"+{value / 60:.1f}m"


def note(message: str) -> None:
    err_console().print(message)
