"""Reading the audit trail (stream SHOWCASE_AUDIT): the operator actions, oldest first.

What an action is and reading the last few back are `showcase_common.audit` (intake's admin page
reads them too); scanning from a time is here, with the tool's own ephemeral reader.
"""

from __future__ import annotations

import datetime as dt

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from showcase_common import subjects
from showcase_common.audit import RecordedAction, decode_action, recent_actions

from showcasectl.stream_reader import Start, scan


async def read_actions(
    js: JetStreamContext, since: dt.datetime | None = None, limit: int | None = None
) -> list[RecordedAction]:
    """Every recorded action since `since` (all when None); the last `limit` when given."""
    if since is None and limit:
        return await recent_actions(js, limit)
    try:
        await js.stream_info(subjects.AUDIT_STREAM)
    except NotFoundError:
        return []  # no action was ever recorded
    found = []
    async for msg in scan(js, subjects.AUDIT_STREAM, [subjects.AUDIT_SUBJECTS], Start(time=since)):
        recorded = decode_action(msg.seq, msg.data)
        if recorded is not None:  # not an action (someone published by hand): never hide the others
            found.append(recorded)
    return found[-limit:] if limit else found
