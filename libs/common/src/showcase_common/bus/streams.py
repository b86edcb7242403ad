"""Idempotent declaration of the stream, the consumers and the key-value buckets.

Replicas come from one setting (`NATS_REPLICAS`: 1 on a single server, 3 on a three-node
cluster). Declaring never lowers the replicas a stream or bucket already has: an operator who
scaled a stream to three must not see a service restart shrink it back to one.
"""

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

KV_STREAM_PREFIX = "KV_"
"""JetStream keeps a key-value bucket in a stream of this prefix and the bucket's name."""


async def ensure_stream(js: JetStreamContext, *, replicas: int = 1) -> None:
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
            num_replicas=replicas,
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
            num_replicas=replicas,
        ),
    )


async def _ensure(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        info = await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        return
    existing = info.config.num_replicas or 1
    config.num_replicas = max(existing, config.num_replicas or 1)
    await js.update_stream(config)


async def ensure_consumer(
    js: JetStreamContext,
    durable: str,
    filter_subjects: list[str],
    *,
    ack_wait_s: float = 2.0,
    max_deliver: int = 10,
) -> None:
    """Create the durable pull consumer, or bring its settings up to date.

    A durable's replicas follow its stream's (num_replicas 0), so it survives what the stream does.
    """
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


async def ensure_kv(
    js: JetStreamContext, bucket: str, *, history: int = 1, replicas: int = 1
) -> KeyValue:
    """The key-value bucket, created on first use; raised to `replicas` when it has fewer."""
    try:
        kv = await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(
                bucket=bucket, history=history, storage=StorageType.FILE, replicas=replicas
            )
        )
    info = await js.stream_info(KV_STREAM_PREFIX + bucket)
    if (info.config.num_replicas or 1) < replicas:
        info.config.num_replicas = replicas
        await js.update_stream(info.config)
    return kv
