"""JSON logging that carries the request id and never a credential.

`request_context(request_id)` binds the id for the current task (a contextvar), and every log
record emitted inside it carries `request_id` without the caller passing it around.

`RedactSecrets` rewrites every record before it is written: `token=…` query values (the progress
WebSocket's URL, which uvicorn logs), `Authorization`/`Bearer …` values and anything shaped like a
JWT become `[redacted]`. `configure_logging` puts it on the one handler every record reaches and on
uvicorn's own loggers (so a handler added elsewhere, a test's or an operator's, gets clean records
too).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import TextIO

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


@contextlib.contextmanager
def request_context(request_id: str | None) -> Iterator[None]:
    """Attach `request_id` to every log record emitted inside the block."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get()
        return True


REDACTED = "[redacted]"
_SECRETS = (
    # ?token=… / &access_token=… in a URL or a query string
    (re.compile(r"(?i)([?&;]\w*token=)[^&\s\"'#]+"), rf"\1{REDACTED}"),
    # Authorization: Bearer …, Basic …, or any "bearer <value>"
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(\w+\s+)?[^\s\"',}]+"),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(?i)(\bbearer\s+)[\w.~+/=-]+"), rf"\1{REDACTED}"),
    # a JWT anywhere (three base64url parts, the first a JSON header)
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+"), REDACTED),
)


_CLUE = re.compile(r"(?i:token=|authorization|bearer)|eyJ")
"""What each pattern above needs (matched as they match, case and all): a line with none of it
(most lines: every request's access line) is clean without running the four patterns."""


def redact(text: str) -> str:
    """`text` without the credentials a log line could carry (see the module docstring)."""
    if _CLUE.search(text) is None:
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message (its format and arguments) with the credentials redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format is logging's to report, not ours
            return True
        # the formatted message is kept (redacted or not): the formatter's getMessage() then
        # formats nothing a second time
        record.msg, record.args = redact(message), None
        return True


REDACTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "websockets")


def install_redaction() -> None:
    """Put `RedactSecrets` on the root logger's handlers and on uvicorn's loggers (idempotent)."""
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in REDACTED_LOGGERS]
    targets += logging.getLogger().handlers
    for target in targets:
        if not any(isinstance(f, RedactSecrets) for f in target.filters):
            target.addFilter(RedactSecrets())


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # set on every record by the request-context filter; absent on a record made elsewhere
        if request_id := getattr(record, "request_id", None):
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [request_id={rid}]" if rid else line


def configure_logging(
    service: str, level: str = "INFO", json_output: bool = True, stream: TextIO | None = None
) -> None:
    """Send every log record to stderr (or `stream`), as one JSON object a line (or plain
    text), with credentials redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if json_output:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in REDACTED_LOGGERS:  # uvicorn's own config may have set them up: ours only
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    install_redaction()
    for noisy in ("botocore", "boto3", "urllib3", "httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
