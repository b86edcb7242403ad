"""The operators' pause, as the roll-out meets it: no machine is called while updates are paused.

Before a roll-out starts, and again before each machine, `RolloutHold.wait` reads the pause
(`showcase_common.fleet_control`). While paused it announces `RolloutPaused` once for the
roll-out (its requests then say so), holds the message — the consumer loop keeps its lease — and
looks again every `poll_s`; on resume it announces `RolloutResumed` and the roll-out goes on, so
the waiting requests complete without anyone retrying. When the updater is stopped meanwhile, the
roll-out is handed back to the stream (a retryable error) and the next updater holds it again.

Requests synced while a roll-out is held wait in the stream behind it, where no roll-out sees
them: each look also reads the IndexSynced stored since, and announces `RolloutPaused` for
their requests too (and `RolloutResumed` on resume), so every waiting request says it is paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from showcase_common.bus import EventPublisher, RetryableError
from showcase_common.events import IndexSynced, RolloutPaused, RolloutResumed
from showcase_common.fleet_control import FleetControl, PauseState, PinHold

from machine_updater.newest_snapshot import NewestSnapshot
from machine_updater.plan import Plan

log = logging.getLogger(__name__)


class RolloutHold:
    def __init__(
        self,
        control: FleetControl,
        publisher: EventPublisher,
        *,
        announced: NewestSnapshot | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self._control = control
        self._publisher = publisher
        self._announced = announced
        """Where the IndexSynced stored behind a held roll-out are read (None: not told)."""
        self._poll_s = poll_s
        self.stopping = asyncio.Event()
        """Set when the updater stops: a held roll-out is handed back instead of waited on."""
        self._in_flight: asyncio.Future[tuple[PauseState | None, PinHold | None]] | None = None

    async def wait(self, p: Plan) -> None:
        """Return at once when roll-outs run; otherwise once they are resumed."""
        state = await self._read(p.generation)
        if state is None:
            return
        paused_key = f"{p.rollout_id}:{state.since.timestamp():.6f}"
        log.info(
            "updates are paused by %s (%s): generation %d waits",
            state.paused_by,
            state.reason or "no reason given",
            p.generation,
        )
        await self._publisher.publish(
            RolloutPaused(
                generation=p.generation,
                requests=list(p.requests),
                paused_by=state.paused_by,
                reason=state.reason,
            ),
            msg_id=f"paused:{paused_key}",
        )
        behind = _Behind(p.generation, since=f"{state.since.timestamp():.6f}")
        while state is not None:
            await self._tell_those_behind(behind, state)
            if await self._stopped_within(self._poll_s):
                raise RetryableError("updates are paused and the updater is stopping: handed back")
            state = await self._read_or_assume_paused(state, p.generation)
        log.info("updates resumed: generation %d goes on", p.generation)
        await self._publisher.publish(
            RolloutResumed(generation=p.generation, requests=list(p.requests)),
            msg_id=f"resumed:{paused_key}",
        )
        for event in behind.told:
            await self._publisher.publish(
                RolloutResumed(generation=event.snapshot.generation, requests=event.requests),
                msg_id=f"resumed:{event.event_id}:{behind.since}",
            )

    async def _tell_those_behind(self, behind: _Behind, state: PauseState) -> None:
        """Announce the pause to the requests synced since the last look. Best effort: a read
        or publish that fails is tried again at the next look (their roll-out holds them anyway)."""
        if self._announced is None:
            return
        try:
            for found in await self._announced.announced_after(behind.seq):
                event = found.event
                if event.snapshot.generation > behind.generation and event.requests:
                    await self._publisher.publish(
                        RolloutPaused(
                            generation=event.snapshot.generation,
                            requests=event.requests,
                            paused_by=state.paused_by,
                            reason=state.reason,
                        ),
                        msg_id=f"paused:{event.event_id}:{behind.since}",
                    )
                    behind.told.append(event)
                behind.seq = found.seq
        except Exception as exc:
            log.warning("could not tell the requests synced since that updates are paused: %s", exc)

    async def _read(self, generation: int) -> PauseState | None:
        try:
            return await self._held(generation)
        except Exception as exc:  # the bus is away: the message will come back, ask again then
            raise RetryableError(f"could not read whether updates are paused: {exc}") from exc

    async def _held(self, generation: int) -> PauseState | None:
        """The pause, else a pin that holds this (newer) generation back, else None."""
        pause, pin = await self._controls()
        if pause is not None:
            return pause
        return pin.as_pause() if pin is not None and generation > pin.generation else None

    async def _controls(self) -> tuple[PauseState | None, PinHold | None]:
        """The pause and the pin; looks asked while a read is in flight share it (the machines
        of a roll-out all look before their call: one read for them all, not two round trips
        each). A finished read is never reused."""
        if self._in_flight is None or self._in_flight.done():
            self._in_flight = asyncio.ensure_future(self._read_controls())
        return await asyncio.shield(self._in_flight)

    async def _read_controls(self) -> tuple[PauseState | None, PinHold | None]:
        pause = await self._control.pause_state()
        if pause is not None:
            return pause, None  # paused: the pin does not matter
        return None, await self._control.pin_hold()

    async def _read_or_assume_paused(self, last: PauseState, generation: int) -> PauseState | None:
        """While waiting, a failed read keeps the pause: never update a machine on a guess."""
        try:
            return await self._held(generation)
        except Exception as exc:
            log.warning("could not read whether updates are still paused: %s", exc)
            return last

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return self.stopping.is_set()


@dataclass
class _Behind:
    """The IndexSynced stored behind one held roll-out: how far they were read, those told."""

    generation: int
    since: str
    """The pause's start: with an event's id, the msg id of what is announced for it."""
    seq: int | None = None
    told: list[IndexSynced] = field(default_factory=list)
