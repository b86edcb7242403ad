"""Pause and resume roll-outs, each recorded in the audit trail: one implementation for
`showcasectl pause`/`resume` and the admin page's buttons.

Each action is idempotent: pausing a paused fleet changes nothing and records nothing; resuming
a running one is refused, saying so, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from showcase_common.audit import OperatorAction
from showcase_common.fleet_control import PauseControl, PauseState

Record = Callable[[OperatorAction], Awaitable[object]]
"""Records an action in the audit trail (`AuditLog.record`, intake's `Bus.record_action`)."""
Via = Literal["showcasectl", "web", "api"]


@dataclass
class Outcome:
    """What an action did: `changed` False when there was nothing to do (not an error),
    `refused` set when it cannot do what was asked (nothing changed)."""

    message: str
    changed: bool = False
    refused: bool = False
    details: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": not self.refused,
            "changed": self.changed,
            "message": self.message,
            **(self.details or {}),
        }


def pause_json(state: PauseState | None) -> dict[str, Any]:
    return {"paused": state is not None, "pause": state.model_dump(mode="json") if state else None}


async def pause(
    control: PauseControl, record: Record, actor: str, reason: str, via: Via = "showcasectl"
) -> Outcome:
    """Pause roll-outs (no machine is updated until resume; syncs go on, requests wait)."""
    state, changed = await control.pause(PauseState(paused_by=actor, reason=reason))
    if not changed:
        return Outcome(
            f"already paused since {state.since:%Y-%m-%d %H:%M:%S} UTC by {state.paused_by}"
            f"{_because(state.reason)}; nothing changed",
            details=pause_json(state),
        )
    await record(OperatorAction(action="pause", actor=actor, reason=reason, via=via))
    return Outcome(
        "paused: no machine is updated until roll-outs resume; syncs go on and requests wait",
        changed=True,
        details=pause_json(state),
    )


async def resume(
    control: PauseControl, record: Record, actor: str, reason: str, via: Via = "showcasectl"
) -> Outcome:
    """Resume roll-outs: the roll-outs that waited go on at once."""
    lifted = await control.resume()
    if lifted is None:
        return Outcome(
            "not paused: there is nothing to resume", refused=True, details=pause_json(None)
        )
    await record(
        OperatorAction(
            action="resume",
            actor=actor,
            reason=reason,
            via=via,
            details={"paused_by": lifted.paused_by, "paused_since": lifted.since.isoformat()},
        )
    )
    return Outcome(
        f"resumed (paused by {lifted.paused_by} since {lifted.since:%Y-%m-%d %H:%M:%S} UTC): "
        "waiting roll-outs go on",
        changed=True,
        details=pause_json(None),
    )


def _because(reason: str) -> str:
    return f" ({reason})" if reason else ""
