"""Dead letters: what the consumer loop gave up on, with the last error, and what to do next.

The consumer loop itself copies a message into the dead-letter stream when it gives up on it
(undecodable, a permanent failure, or its last delivery failed), with the original subject,
sequence, consumer, error and delivery count as headers. So no advisory listener is needed:
this module only reads that stream (by its own sequence: the DLQ ID) and acts on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nats.js.client import JetStreamContext
from showcase_common import subjects
from showcase_common.bus.dead_letters import (
    ATTEMPTS,
    CONSUMER,
    ERROR,
    ORIGINAL_SEQ,
    ORIGINAL_SUBJECT,
)
from showcase_common.bus.publisher import MSG_ID_HEADER
from showcase_common.events import EVENT_TYPES, new_id

from showcasectl.stream_reader import StoredMsg, get, scan

PIPELINE_SUBJECTS = frozenset(t.subject for t in EVENT_TYPES)
"""The only subjects `retry` publishes to: the pipeline's own event subjects."""


class RetryRefused(ValueError):
    """The dead letter cannot be retried as it is; it stays in the DLQ."""


@dataclass
class DeadLetter:
    id: int
    time: dt.datetime
    original_subject: str
    original_seq: int | None
    consumer: str
    error: str
    attempts: int | None
    msg: StoredMsg

    @classmethod
    def from_stored(cls, msg: StoredMsg) -> DeadLetter:
        h = msg.headers
        return cls(
            id=msg.seq,
            time=msg.time,
            original_subject=h.get(ORIGINAL_SUBJECT, ""),
            original_seq=_int(h.get(ORIGINAL_SEQ)),
            consumer=h.get(CONSUMER, msg.subject.rsplit(".", 1)[-1]),
            error=h.get(ERROR, ""),
            attempts=_int(h.get(ATTEMPTS)),
            msg=msg,
        )

    def as_json(self, *, payload: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "time": self.time.isoformat(),
            "original_subject": self.original_subject,
            "original_seq": self.original_seq,
            "consumer": self.consumer,
            "error": self.error,
            "attempts": self.attempts,
        }
        if payload:
            out["payload"] = self.msg.payload()
        return out


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


async def list_dead_letters(js: JetStreamContext) -> list[DeadLetter]:
    return [
        DeadLetter.from_stored(m)
        async for m in scan(js, subjects.DEAD_LETTER_STREAM, [_all_dead_letters()])
    ]


async def count(js: JetStreamContext) -> int:
    return (await js.stream_info(subjects.DEAD_LETTER_STREAM)).state.messages


async def show(js: JetStreamContext, dlq_id: int) -> DeadLetter:
    """One dead letter (`nats.js.errors.NotFoundError` when there is none with this id)."""
    return DeadLetter.from_stored(await get(js, subjects.DEAD_LETTER_STREAM, dlq_id))


async def retry(js: JetStreamContext, dlq_id: int) -> tuple[DeadLetter, int]:
    """Re-publish the original payload to its original subject, then forget the dead letter.

    A fresh Nats-Msg-Id, because the original one may still be inside the duplicate window and
    would be dropped. Every consumer of that subject sees it again; they are idempotent.

    Only to one of the pipeline's event subjects: a dead letter's headers are data, and one that
    names anything else (`$JS.API.STREAM.DELETE.SHOWCASE`, another system's subject) is refused
    with `RetryRefused` and left where it is.
    """
    letter = await show(js, dlq_id)
    if not letter.original_subject:
        raise RetryRefused(f"dead letter {dlq_id} names no original subject; left in the DLQ")
    if letter.original_subject not in PIPELINE_SUBJECTS:
        raise RetryRefused(
            f"dead letter {dlq_id} names {letter.original_subject!r}, which is not one of the "
            "pipeline's event subjects; not re-published, left in the DLQ "
            "(inspect it with `showcasectl dlq show`, remove it with `dlq drop`)"
        )
    headers = {MSG_ID_HEADER: f"dlq-retry:{dlq_id}:{new_id()}"}
    ack = await js.publish(letter.original_subject, letter.msg.data, headers=headers)
    await js.delete_msg(subjects.DEAD_LETTER_STREAM, dlq_id)
    return letter, ack.seq


async def drop(js: JetStreamContext, dlq_id: int) -> DeadLetter:
    letter = await show(js, dlq_id)
    await js.delete_msg(subjects.DEAD_LETTER_STREAM, dlq_id)
    return letter


def _all_dead_letters() -> str:
    return f"{subjects.DEAD_LETTER_SUBJECT_PREFIX}.>"
