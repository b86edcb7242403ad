"""The `update_config` machines' last updates, read from the stream (`showcasectl status`).

The fleet itself (listing, each machine's generation, the state words) is
`showcase_common.fleet_status`, shared with intake's admin page.
"""

from __future__ import annotations

from nats.js.client import JetStreamContext
from showcase_common import events, subjects

from showcasectl.stream_reader import scan


async def last_updates(js: JetStreamContext) -> dict[str, events.MachineUpdated]:
    """Each machine's last `MachineUpdated` on the stream (the update's result)."""
    found: dict[str, events.MachineUpdated] = {}
    async for msg in scan(js, subjects.STREAM, [subjects.MACHINE_UPDATED]):
        event = msg.event()
        if isinstance(event, events.MachineUpdated):
            found[event.machine_id] = event
    return found
