"""Reading the audit trail (stream SHOWCASE_AUDIT): the operator actions, oldest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from showcase_common import subjects
from showcase_common.audit import OperatorAction

from showcasectl.stream_reader import Start, scan


@dataclass(frozen=True)
class Recorded:
    seq: int
    action: OperatorAction

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.action.model_dump(mode="json")}


async def read_actions(
    js: JetStreamContext, since: dt.datetime | None = None, limit: int | None = None
) -> list[Recorded]:
    """Every recorded action since `since` (all when None); the last `limit` when given."""
    try:
        await js.stream_info(subjects.AUDIT_STREAM)
    except NotFoundError:
        return []  # no action was ever recorded
    found = []
    async for msg in scan(js, subjects.AUDIT_STREAM, [subjects.AUDIT_SUBJECTS], Start(time=since)):
        try:
            found.append(Recorded(msg.seq, OperatorAction.model_validate_json(msg.data)))
        except ValueError:
            continue  # not an action (someone published by hand): never hide the others
    return found[-limit:] if limit else found
