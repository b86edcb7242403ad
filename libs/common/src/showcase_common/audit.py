"""The audit trail: every operator action, who did it and why, in its own stream.

Pause, resume, rollback, pin/unpin, replay, apply, `dlq retry`/`drop`, and a studio's or an
admin's Retry each record one `OperatorAction` on `showcase_audit.<action>` in the stream
`SHOWCASE_AUDIT`, kept a year by default (`AUDIT_MAX_AGE_DAYS`), far longer than the pipeline's
30 days. `showcasectl audit` lists them. An action's id is its `Nats-Msg-Id`, so recording the
same action twice (a retried command) keeps one.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import BaseModel, ConfigDict, Field

from showcase_common import subjects
from showcase_common.events import new_id

DEFAULT_MAX_AGE_DAYS = 365.0

Action = Literal[
    "pause",
    "resume",
    "rollback",
    "pin",
    "unpin",
    "replay",
    "apply",
    "dlq_retry",
    "dlq_drop",
    "retry",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OperatorAction(BaseModel):
    """One operator action, as the audit stream keeps it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    action: Action
    actor: str = Field(min_length=1, max_length=200)
    """Who: `--as`, else the OS user; for a web action the logged-in user."""
    reason: str = Field(default="", max_length=1000)
    via: Literal["showcasectl", "web", "api"] = "showcasectl"
    details: dict[str, Any] = Field(default_factory=dict)
    """What it acted on: a request id, a generation, a DLQ sequence…"""
    action_id: str = Field(default_factory=new_id)
    at: dt.datetime = Field(default_factory=_now)

    @property
    def subject(self) -> str:
        return f"{subjects.AUDIT_SUBJECT_PREFIX}.{self.action}"


def os_user() -> str:
    """The default actor of a command-line action."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


async def ensure_audit_stream(
    js: JetStreamContext, *, max_age_days: float = DEFAULT_MAX_AGE_DAYS, replicas: int = 1
) -> None:
    """Create the audit stream, or bring its retention up to date (replicas never lowered)."""
    config = StreamConfig(
        name=subjects.AUDIT_STREAM,
        subjects=[subjects.AUDIT_SUBJECTS],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        max_age=max_age_days * 24 * 3600.0,
        duplicate_window=24 * 3600.0,
        num_replicas=replicas,
    )
    try:
        info = await js.stream_info(subjects.AUDIT_STREAM)
    except NotFoundError:
        await js.add_stream(config)
        return
    config.num_replicas = max(info.config.num_replicas or 1, replicas)
    await js.update_stream(config)


class AuditLog:
    """Records operator actions (the port's only adapter: the audit stream)."""

    def __init__(
        self,
        js: JetStreamContext | Callable[[], JetStreamContext],
        *,
        max_age_days: float = DEFAULT_MAX_AGE_DAYS,
        replicas: int = 1,
    ) -> None:
        self._js = js if callable(js) else (lambda: js)
        self._max_age_days = max_age_days
        self._replicas = replicas
        self._declared = False

    async def record(self, action: OperatorAction) -> int:
        """Publish the action; its stream sequence (a repeat of the same id is kept once)."""
        js = self._js()
        if not self._declared:
            await ensure_audit_stream(js, max_age_days=self._max_age_days, replicas=self._replicas)
            self._declared = True
        ack = await js.publish(
            action.subject,
            action.model_dump_json().encode(),
            headers={"Nats-Msg-Id": f"audit:{action.action_id}"},
            timeout=5.0,
        )
        return int(ack.seq)


@dataclass(frozen=True)
class RecordedAction:
    """An action as the stream keeps it: its sequence and the action."""

    seq: int
    action: OperatorAction

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.action.model_dump(mode="json")}


def decode_action(seq: int, data: bytes | None) -> RecordedAction | None:
    """One stored message as an action; None when it is not one (published by hand)."""
    try:
        return RecordedAction(seq, OperatorAction.model_validate_json(data or b""))
    except ValueError:
        return None


async def recent_actions(js: JetStreamContext, limit: int) -> list[RecordedAction]:
    """The last `limit` actions, oldest first, read back from the stream's end one message at a
    time (no consumer: cheap enough for a page that polls)."""
    try:
        info = await js.stream_info(subjects.AUDIT_STREAM)
    except NotFoundError:
        return []  # no action was ever recorded
    found: list[RecordedAction] = []
    seq = info.state.last_seq
    while seq >= max(info.state.first_seq, 1) and len(found) < limit:
        try:
            raw = await js.get_msg(subjects.AUDIT_STREAM, seq)
        except NotFoundError:  # deleted: keep reading back
            raw = None
        if raw is not None and (recorded := decode_action(seq, raw.data)) is not None:
            found.append(recorded)
        seq -= 1
    return found[::-1]
