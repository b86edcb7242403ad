"""Request state as the progress projector keeps it (KV `request_state`, RequestProgress JSON)."""

from __future__ import annotations

import contextlib

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NoKeysError
from showcase_common import subjects
from showcase_common.progress import RequestProgress


async def get_state(js: JetStreamContext, request_id: str) -> RequestProgress | None:
    try:
        kv = await js.key_value(subjects.REQUEST_STATE_BUCKET)
        entry = await kv.get(request_id)
    except (BucketNotFoundError, KeyNotFoundError):
        return None
    return RequestProgress.model_validate_json(entry.value or b"{}")


async def all_states(js: JetStreamContext) -> list[RequestProgress]:
    """Every request the projector knows, most recently updated first."""
    try:
        kv = await js.key_value(subjects.REQUEST_STATE_BUCKET)
        keys = await kv.keys()
    except (BucketNotFoundError, NoKeysError):
        return []
    states = []
    for key in keys:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # deleted between listing and reading
            continue
        with contextlib.suppress(ValueError):  # one bad record must not hide the others
            states.append(RequestProgress.model_validate_json(entry.value or b""))
    return sorted(states, key=lambda s: s.updated_at or "", reverse=True)
