"""Stream, subject, durable and bucket names: the only place they are spelled.

Every service imports its names from here, so a rename is one edit and a typo is an import error.
"""

from __future__ import annotations

from typing import Final

STREAM: Final = "SHOWCASE"
"""The one durable stream that holds every pipeline event."""

SUBJECT_PREFIX: Final = "showcase"
ALL_SUBJECTS: Final = f"{SUBJECT_PREFIX}.>"

SHOWCASE_CREATED: Final = f"{SUBJECT_PREFIX}.created"
RETRY_REQUESTED: Final = f"{SUBJECT_PREFIX}.retry_requested"
"""Re-drive a request from the sync step (the syncer acts on it)."""
MACHINES_RETRY_REQUESTED: Final = f"{SUBJECT_PREFIX}.machines.retry_requested"
"""Re-roll the newest snapshot out to a request's machines (the updater acts on it)."""
INDEX_SYNCED: Final = f"{SUBJECT_PREFIX}.index.synced"
INDEX_SYNC_FAILED: Final = f"{SUBJECT_PREFIX}.index.sync_failed"
INDEX_SYNC_RETRYING: Final = f"{SUBJECT_PREFIX}.index.sync_retrying"
"""Informational: the syncer is retrying the object store (the request stays processing)."""
INDEX_PREPARING: Final = f"{SUBJECT_PREFIX}.index.preparing"
"""Informational: the syncer runs one of the Rails job's steps before its snapshot."""
MACHINE_UPDATED: Final = f"{SUBJECT_PREFIX}.machine.updated"
MACHINE_UPDATE_FAILED: Final = f"{SUBJECT_PREFIX}.machine.update_failed"
FLEET_UPDATED: Final = f"{SUBJECT_PREFIX}.fleet.updated"
FLEET_UPDATE_FAILED: Final = f"{SUBJECT_PREFIX}.fleet.update_failed"
ROLLOUT_REQUESTED: Final = f"{SUBJECT_PREFIX}.rollout_requested"
ROLLBACK_REQUESTED: Final = f"{SUBJECT_PREFIX}.rollback_requested"
"""An operator rolls the fleet back to an older generation (`showcasectl rollback`)."""
CANARY_STARTED: Final = f"{SUBJECT_PREFIX}.machine.canary_started"
"""Informational: a roll-out tries one machine first (the canary) before the rest."""
ROLLOUT_PAUSED: Final = f"{SUBJECT_PREFIX}.rollout.paused"
"""Informational: a roll-out waits because the operators paused updates (its requests wait)."""
ROLLOUT_RESUMED: Final = f"{SUBJECT_PREFIX}.rollout.resumed"
"""Informational: the operators resumed updates and the waiting roll-out goes on."""
REQUEST_STUCK: Final = f"{SUBJECT_PREFIX}.request.stuck"
"""A request made no progress for `STUCK_AFTER_S` (roll-outs not held): failed, or only reported."""

DEAD_LETTER_STREAM: Final = "SHOWCASE_DLQ"
DEAD_LETTER_SUBJECT_PREFIX: Final = "showcase_dlq"
MAX_DELIVERIES_ADVISORY: Final = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{STREAM}.*"
TERMINATED_ADVISORY: Final = f"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{STREAM}.*"

# Durable consumer names, one per consuming role.
SYNCER_DURABLE: Final = "syncer"
MACHINE_UPDATER_DURABLE: Final = "machine-updater"
PROGRESS_DURABLE: Final = "progress-projector"

REQUEST_STATE_BUCKET: Final = "request_state"
"""JetStream key-value bucket: request id -> the contract's progress message (JSON)."""

SYNC_LEDGER_BUCKET: Final = "sync_ledger"
"""JetStream key-value bucket: request id -> the generation that first covered it."""

INTAKE_OUTCOMES_DURABLE: Final = "intake-outcomes"
"""Intake hears each request's outcome: it records it and queues the studio's e-mail."""
# The operator tool's live admin alerts (`showcasectl alerts run`).
ADMIN_ALERTS_DURABLE: Final = "admin-alerts"
ADMIN_ALERTS_BUCKET: Final = "admin_alerts"
"""JetStream key-value bucket: request id -> when its failure was mailed to the admins."""
# The stuck watch (in `showcasectl alerts run`): each request's last progress, and a timer.
STUCK_WATCH_DURABLE: Final = "stuck-watch"
STUCK_WATCH_BUCKET: Final = "stuck_watch"
"""JetStream key-value bucket: request id -> its step and last progress (absent: finished)."""

# Operators' controls over roll-outs (`showcasectl pause`, `resume`, `rollback --pin`).
FLEET_CONTROL_BUCKET: Final = "fleet_control"
"""JetStream key-value bucket: `pause` -> who paused roll-outs, when and why (absent: running)."""
FLEET_CONTROL_PAUSE_KEY: Final = "pause"
FLEET_CONTROL_PIN_KEY: Final = "pin"
"""`rollback --pin`: newer generations wait until `unpin` (absent: they roll forward)."""
FLEET_CONTROL_LIFTED_KEY: Final = "lifted"
"""When the last pause or pin hold was lifted (the stuck watch restarts its clocks there)."""

# The audit trail: every operator action, in its own stream kept longer than the pipeline's.
AUDIT_STREAM: Final = "SHOWCASE_AUDIT"
AUDIT_SUBJECT_PREFIX: Final = "showcase_audit"
AUDIT_SUBJECTS: Final = f"{AUDIT_SUBJECT_PREFIX}.>"
