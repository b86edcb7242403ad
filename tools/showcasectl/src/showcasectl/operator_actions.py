"""Operator actions on the live bus: pause and resume roll-outs, each recorded in the audit trail.

The actions themselves are `showcase_common.operator_actions` (the admin page's buttons run the
same); here they get the tool's connection, settings and audit stream. The commands are thin:
they parse, call these, and print.
"""

from __future__ import annotations

from typing import Any

from nats.js.client import JetStreamContext
from showcase_common import operator_actions
from showcase_common.audit import Action, AuditLog, OperatorAction, os_user
from showcase_common.fleet_control import KvFleetControl
from showcase_common.operator_actions import Outcome

from showcasectl.config import CtlSettings

__all__ = ["Outcome", "audit_log", "control", "pause", "record", "resume"]


def control(js: JetStreamContext, settings: CtlSettings) -> KvFleetControl:
    return KvFleetControl(js, replicas=settings.nats_replicas)


def audit_log(js: JetStreamContext, settings: CtlSettings) -> AuditLog:
    return AuditLog(js, max_age_days=settings.audit_max_age_days, replicas=settings.nats_replicas)


async def pause(js: JetStreamContext, settings: CtlSettings, actor: str, reason: str) -> Outcome:
    return await operator_actions.pause(
        control(js, settings), audit_log(js, settings).record, actor, reason
    )


async def resume(js: JetStreamContext, settings: CtlSettings, actor: str, reason: str) -> Outcome:
    return await operator_actions.resume(
        control(js, settings), audit_log(js, settings).record, actor, reason
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
