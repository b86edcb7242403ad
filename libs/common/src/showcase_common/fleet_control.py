"""The operators' hold on roll-outs: whether updates are paused, by whom, since when and why.

The state lives in the bus (KV bucket `fleet_control`, file storage, replicated like the rest),
so it survives a restart of NATS and of every service. `showcasectl pause`/`resume` and the admin
page write it; the machine-updater reads it before it calls any machine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal, Protocol

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field

from showcase_common import subjects
from showcase_common.bus.streams import ensure_kv

PAUSED_MESSAGE = (
    "Updates are paused by the operators: your showcase is saved and will go live when they resume"
)
"""What a waiting request says (the progress page, `GET /api/requests/{id}`)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PauseState(BaseModel):
    """Updates are paused: no machine is called until `resume`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    paused_by: str = Field(max_length=200)
    reason: str = Field(default="", max_length=1000)
    since: dt.datetime = Field(default_factory=_now)


class PinHold(BaseModel):
    """`rollback --pin`: the fleet stays on `generation`; newer ones wait until `unpin`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    generation: int = Field(ge=0)
    pinned_by: str = Field(max_length=200)
    reason: str = Field(default="", max_length=1000)
    since: dt.datetime = Field(default_factory=_now)

    def as_pause(self) -> PauseState:
        """How a roll-out held by the pin is announced: as a pause, naming the pin."""
        why = f"pinned to generation {self.generation}" + (
            f": {self.reason}" if self.reason else ""
        )
        return PauseState(paused_by=self.pinned_by, reason=why, since=self.since)


class PauseControl(Protocol):
    """Read and change the pause (`showcase_common.operator_actions` needs no more)."""

    async def pause_state(self) -> PauseState | None:
        """The pause in force, or None when roll-outs run."""

    async def pause(self, state: PauseState) -> tuple[PauseState, bool]:
        """Pause (the state in force and True), or the existing pause and False: idempotent."""

    async def resume(self) -> PauseState | None:
        """Lift the pause; the pause that was lifted, or None when there was none."""


class FleetControl(PauseControl, Protocol):
    """The port: the pause and the pin hold. `KvFleetControl` is the adapter."""

    async def pin_hold(self) -> PinHold | None:
        """The pin that holds newer generations back, or None."""

    async def hold_pin(self, hold: PinHold) -> None:
        """Hold newer generations back (replacing any earlier pin hold)."""

    async def release_pin(self) -> PinHold | None:
        """Let newer generations go; the hold lifted, or None when there was none."""

    async def lifted_at(self) -> dt.datetime | None:
        """When the last pause or pin hold was lifted (None: never). Written before the hold is
        removed, so a reader that sees no hold sees the time it ended."""


class Lifted(BaseModel):
    """The end of the last hold: a pause resumed, or a pin hold released."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    what: Literal["pause", "pin"]
    at: dt.datetime = Field(default_factory=_now)


class KvFleetControl:
    """`FleetControl` over the KV bucket; the bucket is created on the first write."""

    def __init__(
        self, js: JetStreamContext | Callable[[], JetStreamContext], *, replicas: int = 1
    ) -> None:
        self._js = js if callable(js) else (lambda: js)
        self._replicas = replicas

    async def _bucket(self, *, create: bool) -> KeyValue | None:
        js = self._js()
        if create:
            return await ensure_kv(
                js, subjects.FLEET_CONTROL_BUCKET, history=10, replicas=self._replicas
            )
        try:
            return await js.key_value(subjects.FLEET_CONTROL_BUCKET)
        except BucketNotFoundError:
            return None

    async def pause_state(self) -> PauseState | None:
        state, _ = await self._read(await self._bucket(create=False))
        return state

    async def pin_hold(self) -> PinHold | None:
        kv = await self._bucket(create=False)
        if kv is None:
            return None
        try:
            entry = await kv.get(subjects.FLEET_CONTROL_PIN_KEY)
        except KeyNotFoundError:
            return None
        return PinHold.model_validate_json(entry.value) if entry.value else None

    async def hold_pin(self, hold: PinHold) -> None:
        kv = await self._bucket(create=True)
        assert kv is not None
        await kv.put(subjects.FLEET_CONTROL_PIN_KEY, hold.model_dump_json().encode())

    async def release_pin(self) -> PinHold | None:
        current = await self.pin_hold()
        kv = await self._bucket(create=False)
        if current is None or kv is None:
            return None
        await self._lifted(kv, "pin")
        await kv.delete(subjects.FLEET_CONTROL_PIN_KEY)
        return current

    async def lifted_at(self) -> dt.datetime | None:
        kv = await self._bucket(create=False)
        if kv is None:
            return None
        try:
            entry = await kv.get(subjects.FLEET_CONTROL_LIFTED_KEY)
        except KeyNotFoundError:
            return None
        return Lifted.model_validate_json(entry.value).at if entry.value else None

    async def _lifted(self, kv: KeyValue, what: Literal["pause", "pin"]) -> None:
        await kv.put(
            subjects.FLEET_CONTROL_LIFTED_KEY, Lifted(what=what).model_dump_json().encode()
        )

    async def _read(self, kv: KeyValue | None) -> tuple[PauseState | None, int | None]:
        if kv is None:
            return None, None
        try:
            entry = await kv.get(subjects.FLEET_CONTROL_PAUSE_KEY)
        except KeyNotFoundError:  # never set, or deleted by a resume
            return None, None
        if not entry.value:
            return None, entry.revision
        return PauseState.model_validate_json(entry.value), entry.revision

    async def pause(self, state: PauseState) -> tuple[PauseState, bool]:
        kv = await self._bucket(create=True)
        assert kv is not None
        for _ in range(5):  # another operator raced us: look again
            current, _ = await self._read(kv)
            if current is not None:
                return current, False
            try:
                await kv.create(subjects.FLEET_CONTROL_PAUSE_KEY, state.model_dump_json().encode())
            except KeyWrongLastSequenceError:
                continue
            return state, True
        raise RuntimeError("the pause kept changing under us: try again")

    async def resume(self) -> PauseState | None:
        kv = await self._bucket(create=False)
        current, revision = await self._read(kv)
        if current is None or kv is None:
            return None
        await self._lifted(kv, "pause")  # first: whoever sees no pause sees when it ended
        try:
            await kv.delete(subjects.FLEET_CONTROL_PAUSE_KEY, last=revision)
        except KeyWrongLastSequenceError:
            return await self.resume()  # paused again in between: lift that one
        return current
