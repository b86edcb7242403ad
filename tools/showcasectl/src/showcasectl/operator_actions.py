"""Operator actions on the live bus: pause and resume roll-outs, each recorded in the audit trail.

The commands are thin: they parse, call these, and print. Each action is idempotent: pausing a
paused fleet changes nothing and records nothing; resuming a running one is refused, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nats.js.client import JetStreamContext
from showcase_common.audit import Action, AuditLog, OperatorAction, os_user
from showcase_common.fleet_control import KvFleetControl, PauseState

from showcasectl.config import CtlSettings


@dataclass
class Outcome:
    """What a command did: `changed` False when there was nothing to do (not an error),
    `refused` set when it cannot do what was asked (exit 1, nothing changed)."""

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


def control(js: JetStreamContext, settings: CtlSettings) -> KvFleetControl:
    return KvFleetControl(js, replicas=settings.nats_replicas)


def audit_log(js: JetStreamContext, settings: CtlSettings) -> AuditLog:
    return AuditLog(js, max_age_days=settings.audit_max_age_days, replicas=settings.nats_replicas)


def _pause_json(state: PauseState | None) -> dict[str, Any]:
    return {"paused": state is not None, "pause": state.model_dump(mode="json") if state else None}


async def pause(js: JetStreamContext, settings: CtlSettings, actor: str, reason: str) -> Outcome:
    state, changed = await control(js, settings).pause(PauseState(paused_by=actor, reason=reason))
    if not changed:
        return Outcome(
            f"already paused since {state.since:%Y-%m-%d %H:%M:%S} UTC by {state.paused_by}"
            f"{_because(state.reason)}; nothing changed",
            details=_pause_json(state),
        )
    await audit_log(js, settings).record(OperatorAction(action="pause", actor=actor, reason=reason))
    return Outcome(
        "paused: no machine is updated until `showcasectl resume`; syncs go on and requests wait",
        changed=True,
        details=_pause_json(state),
    )


async def resume(js: JetStreamContext, settings: CtlSettings, actor: str, reason: str) -> Outcome:
    lifted = await control(js, settings).resume()
    if lifted is None:
        return Outcome(
            "not paused: there is nothing to resume", refused=True, details=_pause_json(None)
        )
    await audit_log(js, settings).record(
        OperatorAction(
            action="resume",
            actor=actor,
            reason=reason,
            details={"paused_by": lifted.paused_by, "paused_since": lifted.since.isoformat()},
        )
    )
    return Outcome(
        f"resumed (paused by {lifted.paused_by} since {lifted.since:%Y-%m-%d %H:%M:%S} UTC): "
        "waiting roll-outs go on",
        changed=True,
        details=_pause_json(None),
    )


async def record(
    js: JetStreamContext,
    settings: CtlSettings,
    action: Action,
    actor: str | None,
    reason: str = "",
    **details: Any,
) -> None:
    """Record one operator action in the audit trail (the actor defaults to the OS user)."""
    await audit_log(js, settings).record(
        OperatorAction(action=action, actor=actor or os_user(), reason=reason, details=details)
    )


def _because(reason: str) -> str:
    return f" ({reason})" if reason else ""
