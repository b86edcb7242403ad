"""`rollback` and `unpin`: the fleet back to an older generation still in S3, and forward again.

`rollback` pins S3's pointer to the generation (so a booting machine catches up to it, not to
the newest), asks the updater to take every running machine there (`RollbackRequested`: each
call signed with the update secret and naming the operator), and records the action. Without
`--pin` the syncer's next publication drops the pin and the fleet rolls forward with the next
request; with `--pin` newer generations wait (KV `fleet_control`, key `pin`) until `unpin`,
which lifts the pin and rolls the current index out (`RolloutRequested`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from nats.js.client import JetStreamContext
from pydantic import ValidationError
from showcase_common import events, subjects
from showcase_common.audit import OperatorAction
from showcase_common.bus import Publisher
from showcase_common.fleet_control import PinHold
from showcase_common.settings import SnapshotSigningSettings
from showcase_common.signing import SnapshotSigner
from showcase_common.snapshots import Pin, PointerConflict, S3SnapshotStore, SnapshotStore

from showcasectl.config import CtlSettings
from showcasectl.operator_actions import Outcome, audit_log, control
from showcasectl.stream_reader import Start, scan

VERDICTS = [subjects.FLEET_UPDATED, subjects.FLEET_UPDATE_FAILED]


class NoSigningKey(Exception):
    """`SNAPSHOT_SIGNING_KEY` is missing or unusable: nothing can be pinned (nothing changed)."""


def store_of(settings: CtlSettings) -> SnapshotStore:
    """The bucket, writing the pinned pointer signed as the syncer signs it: agents apply no
    pointer that `SNAPSHOT_VERIFY_KEY` does not verify. So `rollback` and `unpin` need the
    syncer's `SNAPSHOT_SIGNING_KEY` (read only here: the other commands never need it);
    `NoSigningKey` says how to give it."""
    try:
        signer = SnapshotSigner.from_base64(SnapshotSigningSettings().signing_key)
    except ValueError as exc:  # pydantic's ValidationError, or a key that does not decode
        errors = exc.errors() if isinstance(exc, ValidationError) else []
        why = errors[0]["msg"].removeprefix("Value error, ") if errors else str(exc)
        raise NoSigningKey(
            f"cannot sign the pinned pointer, nothing changed: {why}. The pointer must be "
            "signed with the syncer's key: set SNAPSHOT_SIGNING_KEY to the syncer's (against "
            "`make run`: `snapshot_signing_key` in .data/secrets.json)"
        ) from exc
    return S3SnapshotStore.from_settings(settings, signer=signer)


def _choose(store: SnapshotStore, to: int | None) -> tuple[events.Snapshot | None, str, Any]:
    """(the snapshot to roll back to, or None and why not; the pointer and its etag)."""
    pointer, etag = store.read_pointer()
    if pointer is None:
        return None, "nothing was ever published to S3: there is nothing to roll back to", None
    serving = pointer.target.generation
    kept = [g.generation for g in store.list_generations()]
    if to is None:
        older = [g for g in kept if g < serving]
        if not older:
            return None, f"no generation older than {serving} is kept in S3", None
        to = max(older)
    if to > pointer.generation:
        return None, f"generation {to} is newer than the newest, {pointer.generation}", None
    snapshot = store.describe(to)
    if snapshot is None:
        span = f"{kept[0]}..{kept[-1]}" if kept else "none"
        return None, f"generation {to} is no longer in S3 (kept: {span})", None
    return snapshot, "", (pointer, etag)


async def rollback(
    js: JetStreamContext,
    settings: CtlSettings,
    actor: str,
    reason: str,
    *,
    to: int | None,
    hold: bool,
    store: SnapshotStore | None = None,
) -> tuple[Outcome, int | None]:
    """Pin and ask for the rollback; the outcome and the stream sequence of the request."""
    try:
        store = store or store_of(settings)
    except NoSigningKey as exc:
        return Outcome(str(exc), refused=True), None
    snapshot, why, found = await asyncio.to_thread(_choose, store, to)
    if snapshot is None:
        return Outcome(why, refused=True), None
    pointer, etag = found
    already = pointer.pin is not None and pointer.pin.snapshot.generation == snapshot.generation
    pin = Pin(snapshot=snapshot, hold=hold, by=actor, reason=reason)
    try:
        await asyncio.to_thread(store.set_pin, pin, etag)
    except PointerConflict:
        return Outcome(
            "the pointer moved while pinning (a sync?): run it again", refused=True
        ), None
    fleet = control(js, settings)
    if hold:
        await fleet.hold_pin(
            PinHold(generation=snapshot.generation, pinned_by=actor, reason=reason)
        )
    else:
        await fleet.release_pin()
    request = events.RollbackRequested(snapshot=snapshot, actor=actor, reason=reason, hold=hold)
    ack = await Publisher(js).publish(request)
    details = {
        "generation": snapshot.generation,
        "from_generation": pointer.target.generation,
        "newest": pointer.generation,
        "pinned": hold,
    }
    audit = audit_log(js, settings)
    await audit.record(
        OperatorAction(action="rollback", actor=actor, reason=reason, details=details)
    )
    if hold:
        await audit.record(
            OperatorAction(
                action="pin",
                actor=actor,
                reason=reason,
                details={"generation": snapshot.generation},
            )
        )
    until = "until `showcasectl unpin`" if hold else "until the next request rolls forward"
    message = (
        f"rolling the fleet back to generation {snapshot.generation}"
        f"{' (it was already pinned there: machines not on it are called again)' if already else ''}"
        f"; S3's pointer is pinned to it {until}"
    )
    return Outcome(message, changed=True, details=details), int(ack.seq)


async def unpin(
    js: JetStreamContext,
    settings: CtlSettings,
    actor: str,
    reason: str,
    store: SnapshotStore | None = None,
) -> Outcome:
    try:
        store = store or store_of(settings)
    except NoSigningKey as exc:
        return Outcome(str(exc), refused=True)
    pointer, etag = await asyncio.to_thread(store.read_pointer)
    fleet = control(js, settings)
    pinned = pointer.pin.snapshot.generation if pointer and pointer.pin else None
    if pointer is not None and pointer.pin is not None:
        try:
            await asyncio.to_thread(store.set_pin, None, etag)
        except PointerConflict:
            return Outcome("the pointer moved while unpinning: run it again", refused=True)
    released = await fleet.release_pin()
    if pinned is None and released is None:
        return Outcome("not pinned: there is nothing to unpin", refused=True)
    pinned = pinned if pinned is not None else released.generation if released else None
    await Publisher(js).publish(events.RolloutRequested(requested_by=actor))
    await audit_log(js, settings).record(
        OperatorAction(action="unpin", actor=actor, reason=reason, details={"generation": pinned})
    )
    return Outcome(
        f"unpinned (was generation {pinned}): the current index is rolled out to every machine",
        changed=True,
        details={"unpinned_generation": pinned},
    )


async def follow(js: JetStreamContext, after_seq: int, generation: int, timeout_s: float) -> str:
    """Until the updater's verdict on the rollback: completed, failed: …, or timeout."""

    async def verdict() -> str:
        async for msg in scan(js, subjects.STREAM, VERDICTS, Start(seq=after_seq + 1), follow=True):
            event = msg.event()
            if getattr(event, "generation", None) != generation or getattr(event, "requests", 1):
                continue  # another roll-out's verdict (the rollback's carries no request)
            if isinstance(event, events.FleetUpdated):
                return "completed"
            if isinstance(event, events.FleetUpdateFailed):
                failed = ", ".join(f"{f.machine_id} ({f.reason})" for f in event.failures)
                return f"failed: {failed}"
        return "timeout"

    try:
        return await asyncio.wait_for(verdict(), timeout_s)
    except TimeoutError:
        return "timeout"
