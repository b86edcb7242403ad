"""Dead letters: messages the pipeline gave up on, kept with the reason for an operator.

The consumer loop dead-letters a message itself, at the moment it gives up (undecodable, a
permanent failure, or the last allowed delivery failed), so the original payload and the last
error travel together; `showcasectl dlq` lists, retries or drops them.
"""

from __future__ import annotations

import logging

from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from showcase_common import subjects

log = logging.getLogger(__name__)

ORIGINAL_SUBJECT = "Dlq-Original-Subject"
ORIGINAL_SEQ = "Dlq-Original-Seq"
CONSUMER = "Dlq-Consumer"
ERROR = "Dlq-Error"
ATTEMPTS = "Dlq-Attempts"


def dead_letter_subject(durable: str) -> str:
    return f"{subjects.DEAD_LETTER_SUBJECT_PREFIX}.{durable}"


async def dead_letter(js: JetStreamContext, msg: Msg, durable: str, error: str) -> None:
    """Copy `msg` into the dead-letter stream with why it was given up on (idempotently)."""
    meta = msg.metadata
    seq = meta.sequence.stream
    headers = {
        "Nats-Msg-Id": f"dlq:{durable}:{seq}",
        ORIGINAL_SUBJECT: msg.subject,
        ORIGINAL_SEQ: str(seq),
        CONSUMER: durable,
        ERROR: error[:2000],
        ATTEMPTS: str(meta.num_delivered),
    }
    try:
        await js.publish(dead_letter_subject(durable), msg.data, headers=headers)
    except Exception as exc:  # the message is still terminated; the advisory remains as a trace
        log.error("could not dead-letter seq=%s from %s: %s", seq, durable, exc)
