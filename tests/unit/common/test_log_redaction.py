"""Credentials never reach a log line."""

from __future__ import annotations

import logging

import pytest
from showcase_common.logs import RedactSecrets, redact

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdHVkaW8ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f'127.0.0.1:5 - "WebSocket /ws/progress?token={JWT}" [accepted]', JWT),
        ("GET /x?a=1&token=opaque-value-123&b=2 HTTP/1.1", "opaque-value-123"),
        ("headers: {'authorization': 'Bearer s3cr3t-bearer'}", "s3cr3t-bearer"),
        ("Authorization: Basic c3R1ZGlvOnN0dWRpbw==", "c3R1ZGlvOnN0dWRpbw=="),
        ("calling agent with bearer abc.def-ghi", "abc.def-ghi"),
        (f"token in text {JWT} here", JWT),
    ],
)
def test_redact_removes_the_credential(line: str, secret: str) -> None:
    cleaned = redact(line)
    assert secret not in cleaned and "[redacted]" in cleaned


def test_ordinary_lines_are_left_alone() -> None:
    line = "Updated machine 2 of 3 (ord); authorization refused for studio"
    assert redact(line) == line


def test_the_filter_rewrites_message_and_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s"',
        ("1.2.3.4", f"/ws?token={JWT}"),
        None,
    )
    assert RedactSecrets().filter(record)
    assert record.getMessage() == '1.2.3.4 - "WebSocket /ws?token=[redacted]"'


@pytest.mark.parametrize(
    "line",
    [
        "POST /api/showcases 201 3.1ms",
        "x TOKEN=abc y",
        "AUTHORİZATION: Basic c3R1ZGlv",  # a dotted capital I: still the pattern's "i"
        "Bearer abc",
        f"{JWT}",
        "eyj.not.a.jwt",
    ],
)
def test_a_line_is_redacted_exactly_as_by_all_the_patterns(line: str) -> None:
    from showcase_common.logs import _SECRETS

    expected = line
    for pattern, replacement in _SECRETS:
        expected = pattern.sub(replacement, expected)
    assert redact(line) == expected


def test_the_filter_formats_a_message_once_and_keeps_it() -> None:
    record = logging.LogRecord(
        "intake.http", logging.INFO, __file__, 1, "%s %s %d", ("POST", "/a", 201), None
    )
    assert RedactSecrets().filter(record)
    assert (record.msg, record.args) == ("POST /a 201", None)
    assert record.getMessage() == "POST /a 201"
