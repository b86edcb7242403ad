"""The bus (NATS JetStream) as the operator tool reads it: a short-lived connection and stored
messages.

The tool never joins a service's durable consumer; it reads the stream through ephemeral,
unacknowledged consumers that vanish when it exits, so looking never disturbs the pipeline.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from showcase_common import events
from showcase_common.bus.connection import connect_once
from showcase_common.bus.errors import BusUnavailable


@contextlib.asynccontextmanager
async def open_bus(url: str, *, timeout_s: float = 3.0) -> AsyncIterator[JetStreamContext]:
    """A connection that fails fast: an operator wants an answer, not a retry loop."""

    try:
        nc = await connect_once(url, "showcasectl", timeout_s=timeout_s)
    except Exception as exc:
        raise BusUnavailable(f"cannot reach NATS at {url}: {exc}") from exc
    try:
        yield nc.jetstream()
    finally:
        with contextlib.suppress(Exception):
            await nc.drain()


@dataclass
class StoredMsg:
    """One message as the stream keeps it, decoded when it is a valid event."""

    seq: int
    subject: str
    time: dt.datetime
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def msg_id(self) -> str | None:
        return self.headers.get("Nats-Msg-Id")

    def event(self) -> events.Event | None:
        try:
            return events.decode(self.subject, self.data)
        except events.UndecodableEvent:
            return None

    def payload(self) -> Any:
        """The JSON body (or the raw text when it is not JSON), for display."""
        try:
            return json.loads(self.data)
        except ValueError:
            return self.data.decode(errors="replace")

    @classmethod
    def from_msg(cls, msg: Msg) -> StoredMsg:
        meta = msg.metadata
        return cls(
            seq=meta.sequence.stream,
            subject=msg.subject,
            time=meta.timestamp,
            data=msg.data,
            headers=dict(msg.headers or {}),
        )


@dataclass(frozen=True)
class Start:
    """Where a scan starts: a stream sequence, a time, or the beginning."""

    seq: int | None = None
    time: dt.datetime | None = None

    def config(self) -> dict[str, Any]:
        if self.seq is not None:
            return {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": self.seq}
        if self.time is not None:
            return {"deliver_policy": DeliverPolicy.BY_START_TIME, "opt_start_time": self.time}
        return {"deliver_policy": DeliverPolicy.ALL}


async def scan(
    js: JetStreamContext,
    stream: str,
    subjects: Sequence[str],
    start: Start = Start(),
    *,
    follow: bool = False,
    batch: int = 256,
) -> AsyncIterator[StoredMsg]:
    """The stream's messages on `subjects` from `start`, in order; with `follow`, forever."""
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        inactive_threshold=60.0,
        mem_storage=True,
        filter_subjects=list(subjects),
        **start.config(),
    )
    sub = await js.pull_subscribe("", stream=stream, config=config)
    name: str | None = None
    try:
        info = await sub.consumer_info()
        name = info.name
        if not follow and not info.num_pending:
            return
        while True:
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except TimeoutError:
                # Messages deleted under us can leave nothing to wait for.
                if not follow and not (await sub.consumer_info()).num_pending:
                    return
                continue
            for msg in msgs:
                stored = StoredMsg.from_msg(msg)
                # The server starts a time past the last message at the beginning: filter.
                if start.time is None or stored.time >= start.time:
                    yield stored
                if not follow and msg.metadata.num_pending == 0:
                    return
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        if name is not None:
            with contextlib.suppress(Exception):
                await js.delete_consumer(stream, name)


async def get(js: JetStreamContext, stream: str, seq: int) -> StoredMsg:
    """One stored message by its sequence (`nats.js.errors.NotFoundError` when absent)."""
    raw = await js.get_msg(stream, seq)
    return StoredMsg(
        seq=raw.seq or seq,
        subject=raw.subject or "",
        time=raw.time or dt.datetime.now(dt.UTC),
        data=raw.data or b"",
        headers={str(k): str(v) for k, v in (raw.headers or {}).items()},
    )
