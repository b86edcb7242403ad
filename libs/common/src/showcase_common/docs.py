"""Documents generated from the code, and the sections of the docs that hold them.

A generated section sits between `<!-- NAME:start -->` and `<!-- NAME:end -->` in a Markdown file
(`showcasectl topology --markdown` in docs/ARCHITECTURE.md, the settings table in README.md);
its generator rewrites it with `replace_section` and a test compares it with `section`.

The settings table: every environment variable the settings classes read (pydantic-settings
fields, nested per-service consumer settings with their prefix, older names accepted through a
`validation_alias`), with its default and its description (the field's docstring), one row per
variable naming everyone who reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, AliasPath, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"


def section(text: str, name: str) -> str:
    """The generated section `name` of a document (ValueError when its markers are missing)."""
    start, end = _markers(name)
    if start not in text or end not in text:
        raise ValueError(f"no {start.strip()} … {end} section")
    return text.split(start, 1)[1].split(end, 1)[0]


def replace_section(text: str, name: str, content: str) -> str:
    """`text` with its section `name` replaced by `content`."""
    start, end = _markers(name)
    before = text.split(start, 1)[0] if start in text else None
    if before is None or end not in text:
        raise ValueError(f"no {start.strip()} … {end} section")
    return before + start + content + end + text.split(end, 1)[1]


def rewrite_section(path: Path, name: str, content: str) -> bool:
    """Rewrite the section `name` of the file `path`; True when it changed."""
    text = path.read_text()
    updated = replace_section(text, name, content)
    if updated != text:
        path.write_text(updated)
    return updated != text


# -- the settings table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One environment variable as one reader reads it."""

    name: str
    """The variable (upper case)."""
    older: tuple[str, ...]
    """Older names still accepted."""
    default: str
    """The default as the table shows it ("—": none)."""
    description: str


@dataclass(frozen=True)
class Reader:
    """Who reads a set of variables: a service (its settings class) or a tool."""

    name: str
    settings: Sequence[Setting]


def _names(prefix: str, field: str, info: FieldInfo) -> list[str]:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [c.upper() for c in alias.choices if isinstance(c, str)]
    if isinstance(alias, str):
        return [alias.upper()]
    if isinstance(alias, AliasPath):
        return [str(alias.path[0]).upper()]
    return [(prefix + field).upper()]


def shown(value: Any) -> str:
    """A default as the table shows it."""
    if value is None or value == "" or isinstance(value, SecretStr):
        return "—"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list | tuple):
        return f"`{list(value)}`"
    return f"`{value}`"


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return shown(info.default_factory())  # type: ignore[call-arg]  # no validated data used
    if info.is_required():
        return "(required)"
    return shown(info.default)


def _description(cls: type[BaseSettings], field: str) -> str:
    """The field's docstring: its own, or that of the nearest class it overrides."""
    for klass in cls.__mro__:
        fields: dict[str, FieldInfo] = getattr(klass, "model_fields", {})
        info = fields.get(field)
        if info is not None and info.description:
            return " ".join(info.description.split())
    return ""


def settings_of(cls: type[BaseSettings]) -> Iterator[Setting]:
    """Every variable `cls` reads; a nested settings field (a consumer's tuning) by its own
    prefix, not as one variable."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    for field, info in cls.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings):
            yield from settings_of(kind)
            continue
        name, *older = _names(prefix, field, info)
        yield Setting(name, tuple(older), _default(info), _description(cls, field))


def readers_of(name: str, classes: Iterable[type[BaseSettings]]) -> Reader:
    """One reader of the variables of `classes`: a service or tool made of several."""
    seen: dict[str, Setting] = {}
    for cls in classes:
        for setting in settings_of(cls):
            seen.setdefault(setting.name, setting)
    return Reader(name, list(seen.values()))


@dataclass(frozen=True)
class Row:
    name: str
    older: tuple[str, ...]
    readers: tuple[str, ...]
    default: str
    description: str


def _grouped(values: dict[str, str], join: str, form: str) -> str:
    """One value when all readers agree; else each distinct value with the readers it is of."""
    distinct = list(dict.fromkeys(values.values()))
    if len(distinct) == 1:
        return distinct[0]
    return join.join(
        form.format(value=v, who=", ".join(r for r, w in values.items() if w == v))
        for v in distinct
    )


def rows(readers: Sequence[Reader]) -> list[Row]:
    """One row per variable, naming every reader; rows in the readers' order, then by name."""
    by_name: dict[str, dict[str, Setting]] = {}
    for reader in readers:
        for setting in reader.settings:
            by_name.setdefault(setting.name, {})[reader.name] = setting
    table = []
    for name, of in by_name.items():
        older = tuple(dict.fromkeys(o for s in of.values() for o in s.older))
        described = {r: s.description for r, s in of.items() if s.description}
        table.append(
            Row(
                name=name,
                older=older,
                readers=tuple(of),
                default=_grouped({r: s.default for r, s in of.items()}, ", ", "{value} ({who})"),
                description=_grouped(described, " ", "{who}: {value}") if described else "",
            )
        )
    order = {r.name: i for i, r in enumerate(readers)}
    return sorted(table, key=lambda row: (len(row.readers) == 1, order[row.readers[0]], row.name))


def _cell(text: str) -> str:
    return re.sub(r"(?<!\\)\|", r"\|", text)


def markdown(readers: Sequence[Reader], services: Iterable[str] = ()) -> str:
    """The table in Markdown: variables read by several first, then each reader's own. A
    variable every one of `services` reads says "every service" (and names the others)."""
    services = set(services)
    lines = ["| variable | default | read by | what it is |", "|---|---|---|---|"]
    for row in rows(readers):
        variable = f"`{row.name}`" + "".join(f" (or `{o}`)" for o in row.older)
        who = list(row.readers)
        if services and services <= set(who):
            who = ["every service", *(r for r in who if r not in services)]
        cells = (variable, row.default, ", ".join(who), row.description)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
