"""Every text a studio reads about its request, written once, from the events' facts and codes.

The services publish what happened (a step done, a failure's reason code and its technical
detail); only this module turns that into words on the progress page. The technical detail
(exception text, paths, hosts) is never used here: it stays in the events and the services'
logs, for the operators (`showcasectl events`, the admin alerts). A code this module does not
know, and every failure recorded before the codes existed ("unknown"), gets the generic text.
"""

from __future__ import annotations

from collections.abc import Sequence

from showcase_common.events import FailureReason, MachineFailure
from showcase_common.fleet_control import PAUSED_MESSAGE

CREATED = "Publishing the updated index…"
RETRYING_SYNC = "Retrying: publishing the updated index…"
RETRYING_MACHINES = "Retrying the machines that failed…"
SYNCED = "Index published; updating the machines…"
LIVE = "Your showcase is live"
PAUSED = PAUSED_MESSAGE
"""A roll-out held by the operators' pause (`showcasectl pause`)."""
RESUMED = "Updates resumed; updating the machines…"
FAILED = "Your showcase could not be published."
FAILED_ON_MACHINES = "Your showcase could not be published everywhere."

_TRY_LATER = "Nothing is lost: press Retry in a few minutes."
SYNC_FAILURES: dict[FailureReason, str] = {
    "storage_unavailable": f"The storage that holds the index is unavailable. {_TRY_LATER}",
    "snapshot_failed": f"The index could not be copied. {_TRY_LATER}",
    "not_in_index": (
        "Your showcase was not found in the index, so nothing was sent to the machines. "
        "Press Retry, and contact us if it happens again."
    ),
}
"""The error a studio reads when its index could not be published, per reason."""
SYNC_FAILED = f"Something went wrong on our side. {_TRY_LATER}"
"""Any other reason, and failures from before the codes."""

MACHINE_CAUSES: dict[FailureReason, str] = {
    "machine_unreachable": "could not be reached",
    "machine_refused": "refused the update",
    "command_failed": "its update commands failed",
    "storage_unavailable": "could not download the index",
    "timeout": "did not finish in time",
    "not_serving": "does not show the showcase yet",
}
"""Why a machine could not be updated, in a few words (none for an unknown reason)."""


def preparing(step: int, steps: int, name: str) -> str:
    """The index host's own steps before the snapshot (maps, dates, clean-up)."""
    return f"Preparing the index: {name} ({step} of {steps})…"


def sync_retrying(attempt: int, max_attempts: int) -> str:
    return f"S3 unavailable, retrying ({attempt} of {max_attempts})…"


def sync_failed(reason: FailureReason) -> str:
    return SYNC_FAILURES.get(reason, SYNC_FAILED)


def machine_updated(done: int, total: int, region: str, hands_on_to: str | None = None) -> str:
    """A machine of the page's region serves it; any other hands it on (fly-replay) there."""
    if hands_on_to:
        return f"Updated machine {done} of {total} ({region}, hands your page on to {hands_on_to})…"
    return f"Updated machine {done} of {total} ({region})…"


def machine_failed(
    machine_id: str, region: str, reason: FailureReason, done: int, total: int
) -> str:
    cause = MACHINE_CAUSES.get(reason)
    why = f" ({cause})" if cause else ""
    return (
        f"Machine {machine_id} ({region}) could not be updated{why}; "
        f"{done} of {total} machines done…"
    )


def fleet_failed(failures: Sequence[MachineFailure], updated: Sequence[str]) -> str:
    """What failed and where, then what the studio can do about it."""
    failed, total = len(failures), len(failures) + len(updated)
    details = ", ".join(_machine(f) for f in failures)
    if updated:
        served = "The other machines already serve your showcase. "
        head = f"{failed} of {total} machines could not be updated"
    else:
        served = ""
        head = "The machine could not be updated" if total == 1 else "No machine could be updated"
    return (
        f"{head}: {details}. {served}"
        "Press Retry to try again: only the machines that failed are updated."
    )


def _machine(failure: MachineFailure) -> str:
    cause = MACHINE_CAUSES.get(failure.reason)
    return f"{failure.machine_id} ({failure.region}{', ' + cause if cause else ''})"


def canary_started(region: str) -> str:
    return f"Trying the update on one machine first ({region})…"


def canary_updated(region: str, total: int) -> str:
    others = total - 1
    rest = "the other machine" if others == 1 else f"the other {others} machines"
    return f"The first machine ({region}) shows your showcase; updating {rest}…"


def canary_failed(failures: Sequence[MachineFailure], untouched: Sequence[str]) -> str:
    """The roll-out stopped at its first machine: nothing else changed."""
    where = ", ".join(_machine(f) for f in failures)
    return (
        f"The update was tried on one machine first, {where}, and failed there, so it was "
        "stopped: the other machines were not changed and still serve the site as before. "
        "The operators have been told; press Retry once they have fixed it."
    )
