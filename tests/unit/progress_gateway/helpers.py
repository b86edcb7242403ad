"""Helpers to build the gateway's events and deliveries as the consumer loop does."""

from __future__ import annotations

import datetime as dt

from nats.aio.msg import Msg
from showcase_common import events
from showcase_common.bus import Delivery

_T0 = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return _T0 + dt.timedelta(seconds=seconds)


def ref(request_id: str = "r1", user: str = "studio") -> events.RequestRef:
    showcase = events.ShowcaseRef(
        showcase_id=1, year=2026, location_key="boston", key="spring", name="Spring"
    )
    return events.RequestRef(
        request_id=request_id,
        user=user,
        showcase=showcase,
        redirect_url="http://fleet/showcase/2026/boston/spring/",
    )


def delivery(event: events.Event, seq: int) -> Delivery:
    """A delivery whose envelope carries `seq`, exactly as JetStream encodes it in the reply."""
    reply = f"$JS.ACK.SHOWCASE.progress-projector.1.{seq}.{seq}.1764417600000000000.0"
    msg = Msg(_client=None, subject=event.subject, reply=reply, data=events.encode(event))  # type: ignore[arg-type]
    return Delivery(event, msg)


def happy_path(refs: list[events.RequestRef], machines: int = 3) -> list[events.Event]:
    """The events of one successful roll-out over `machines` machines."""
    snapshot = events.Snapshot(generation=7, object_key="db/7", sha256="0" * 64, size=1)
    out: list[events.Event] = [events.ShowcaseCreated(request=r, occurred_at=at(0)) for r in refs]
    out.append(events.IndexSynced(snapshot=snapshot, requests=refs, occurred_at=at(1)))
    for k in range(1, machines + 1):
        out.append(
            events.MachineUpdated(
                generation=7,
                requests=refs,
                machine_id=f"m{k}",
                region=["ord", "iad", "ams"][k % 3],
                done=k,
                total=machines,
                duration_s=2.0,
                occurred_at=at(1 + 2 * k),
            )
        )
    out.append(
        events.FleetUpdated(
            generation=7,
            requests=refs,
            machine_ids=[f"m{k}" for k in range(1, machines + 1)],
            duration_s=2.0 * machines,
            occurred_at=at(2 + 2 * machines),
        )
    )
    return out


def fleet_failed(refs: list[events.RequestRef]) -> events.FleetUpdateFailed:
    return events.FleetUpdateFailed(
        generation=7,
        requests=refs,
        failures=[events.MachineFailure(machine_id="m2", region="iad", error="HTTP 503")],
        updated=["m1", "m3"],
        occurred_at=at(10),
    )
