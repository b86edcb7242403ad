"""Idempotent declaration of the stream, the consumers and the key-value buckets."""

from __future__ import annotations

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from showcase_common import subjects

DUPLICATE_WINDOW_S = 24 * 3600.0
"""How long JetStream remembers a Nats-Msg-Id: a re-publish within a day is dropped."""


async def ensure_stream(js: JetStreamContext) -> None:
    """Create or update the pipeline stream and the dead-letter stream."""
    await _ensure(
        js,
        StreamConfig(
            name=subjects.STREAM,
            subjects=[subjects.ALL_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_age=30 * 24 * 3600.0,
        ),
    )
    await _ensure(
        js,
        StreamConfig(
            name=subjects.DEAD_LETTER_STREAM,
            subjects=[f"{subjects.DEAD_LETTER_SUBJECT_PREFIX}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
    )


async def _ensure(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)


async def ensure_consumer(
    js: JetStreamContext,
    durable: str,
    filter_subjects: list[str],
    *,
    ack_wait_s: float = 10.0,
    max_deliver: int = 10,
) -> None:
    """Create the durable pull consumer, or bring its settings up to date."""
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_deliver=max_deliver,
        max_ack_pending=1000,
        filter_subjects=filter_subjects,
    )
    await js.add_consumer(subjects.STREAM, config)


async def ensure_kv(js: JetStreamContext, bucket: str, *, history: int = 1) -> KeyValue:
    """The key-value bucket, created on first use."""
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(bucket=bucket, history=history, storage=StorageType.FILE)
        )
