"""YAML as Ruby's Psych writes it (`Hash#to_yaml`), for the files the Rails fleet reads.

Psych decides each string's style in Ruby (`Psych::Visitors::YAMLTree#visit_String`, with
`Psych::ScalarScanner#tokenize` telling whether a plain scalar would read back as another type)
and hands events to libyaml, which may still quote a scalar it cannot write plain. This module
makes the same decisions (ported from Psych 4.0, Ruby 3.1) and feeds the same events to PyYAML's
emitter (libyaml itself when PyYAML was built with it; its pure-Python port otherwise: the two
give the same bytes, see the unit tests), so `dump(data)` is byte for byte `data.to_yaml` (one deliberate exception: an impossible date
or time, see `reads_back_as_string`).

Only the types the fleet's files hold are supported: dict, str, `RubySymbol`, int, bool, None.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    StreamEndEvent,
    StreamStartEvent,
)

# libyaml is what Psych uses; its pure-Python port is the fallback.
_DUMPER: type = getattr(yaml, "CDumper", yaml.Dumper)
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"


class RubySymbol(str):
    """A Ruby Symbol (`:name`): what the fleet's Rails code uses as hash keys."""

    __slots__ = ()


def dump(data: Any, *, dumper: type | None = None) -> str:
    """`data.to_yaml` as Psych writes it: `---`, block style, two-space indent, 80 columns."""
    events = [
        StreamStartEvent(encoding="utf-8"),
        DocumentStartEvent(explicit=True),
        *_node(data),
        DocumentEndEvent(explicit=False),
        StreamEndEvent(),
    ]
    text = yaml.emit(events, Dumper=dumper or _DUMPER, allow_unicode=True, width=80, indent=2)
    return str(text)


def _node(value: Any) -> Iterator[Event]:
    if isinstance(value, dict):
        yield MappingStartEvent(None, None, True, flow_style=False)
        for key, item in value.items():
            yield from _node(key)
            yield from _node(item)
        yield MappingEndEvent()
    elif value is None:
        yield ScalarEvent(None, _NULL_TAG, (True, False), "")
    elif isinstance(value, RubySymbol):
        if not value:
            yield ScalarEvent(None, "!ruby/symbol", (False, False), "")
        else:
            yield ScalarEvent(None, None, (True, False), f":{value}")
    elif isinstance(value, str):
        yield _string(value)
    elif isinstance(value, bool | int):
        yield ScalarEvent(None, None, (True, False), str(value).lower())
    else:
        raise TypeError(f"psych.dump does not write {type(value).__name__}")


def _string(text: str) -> ScalarEvent:
    """`YAMLTree#visit_String`: the style Psych asks libyaml for."""
    if re.search(r"\n(?!\n?\Z)", text):  # Ruby's \Z also matches before a final newline
        return ScalarEvent(None, None, (True, True), text, style="|")
    if text == "<<":
        return ScalarEvent(None, _STR_TAG, (False, False), text, style="'")
    style: str | None = None
    if text in ("y", "n") or re.search(r'^[^\w][^"]*$', text, re.MULTILINE):
        style = '"'
    elif not reads_back_as_string(text) or re.match(r"0[0-7]*[89]", text):
        style = "'"
    return ScalarEvent(None, None, (True, True), text, style=style)


# --- Psych::ScalarScanner#tokenize: would this plain scalar load as a String? --------------------

_RUBY_SPACE = " \t\r\n\f\v"
_ALPHA = r"[^\W\d_]"  # Ruby's [[:alpha:]]
_WORDISH = re.compile(
    rf"^[^0-9.:\-]?(?:{_ALPHA}|[_{_RUBY_SPACE}!@#$%^&*(){{}}<>|/\\~;=])+", re.MULTILINE
)
_TIME = re.compile(
    r"^-?[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t\r\n\f\v]+)[0-9]{1,2}:[0-9]{2}:"
    r"[0-9]{2}(?:\.[0-9]*)?(?:[ \t\r\n\f\v]*(?:Z|[-+][0-9]{1,2}:?(?:[0-9]{2})?))?$"
)
_DATE = re.compile(r"^[0-9]{4}-(?:1[012]|0[0-9]|[0-9])-(?:[12][0-9]|3[01]|0[0-9]|[0-9])$")
_SPECIAL_FLOAT = re.compile(r"^(?:\+?\.inf|-\.inf|\.nan)$", re.IGNORECASE)
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}(?:\.[0-9_]*)?$")
_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?$")
_INTEGER = re.compile(
    r"^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)"
    r"|[-+]?0x[0-9a-fA-F_,]+)$"
)


def reads_back_as_string(text: str) -> bool:
    """Whether Psych would load `text`, written plain, as the same String (not nil, a boolean,
    a number, a date, a time or a symbol)."""
    if not text:
        return False
    if _WORDISH.search(text) or "\n" in text:
        return _wordish_is_string(text)
    if _TIME.match(text) or _DATE.match(text):
        # Psych's dump leaves an impossible date (`2025-02-30`) plain, but the fleet's
        # `YAML.load_file` (a safe load: Date and Time not permitted) then refuses the whole
        # file. Quoting it is the one place these bytes differ from Psych's, on purpose.
        return False
    if _SPECIAL_FLOAT.match(text) or re.match(r"^:.", text) or _SEXAGESIMAL.match(text):
        return False
    if _FLOAT.match(text):
        return bool(re.fullmatch(r"[-+]?\.", text))
    return not _INTEGER.match(text)


def _wordish_is_string(text: str) -> bool:
    # Ruby's `^` and `$` match at every line: these tests see each line of the text.
    if len(text) > 5 or re.search(r"^[^ytonf~]", text, re.IGNORECASE | re.MULTILINE):
        return True
    keywords = r"^(?:null|yes|true|on|no|false|off)$"
    return text != "~" and not re.search(keywords, text, re.IGNORECASE | re.MULTILINE)
