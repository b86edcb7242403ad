"""Every text a studio reads about its request, written once, from the events' facts and codes.

The services publish what happened (a step done, a failure's reason code and its technical
detail); only this module turns that into words on the progress page. The technical detail
(exception text, paths, hosts) is never used here: it stays in the events and the services'
logs, for the operators (`showcasectl events`, the admin alerts). A code this module does not
know, and every failure recorded before the codes existed ("unknown"), gets the generic text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from showcase_common.events import FailureReason, MachineFailure
from showcase_common.fleet_control import PAUSED_MESSAGE
from showcase_common.progress import duration_words

CREATED = "Publishing your showcase…"
RETRYING_SYNC = "Retrying: publishing your showcase…"
RETRYING_MACHINES = "Retrying the regions that were not updated…"
SYNCED = "Publishing your showcase in every region…"
LIVE = "Your showcase is live"
PAUSED = PAUSED_MESSAGE
"""A roll-out held by the operators' pause (`showcasectl pause`)."""
RESUMED = "Publishing resumed; your showcase goes to every region…"
FAILED = "Your showcase could not be published."
FAILED_ON_MACHINES = "Your showcase could not be published everywhere."
STUCK = "Publishing your showcase stopped moving."
"""A request the stuck watch failed: no step for `STUCK_AFTER_S` (not while paused)."""

_TRY_LATER = "Nothing is lost: press Retry in a few minutes."
SYNC_FAILURES: dict[FailureReason, str] = {
    "storage_unavailable": f"Our storage is unavailable right now. {_TRY_LATER}",
    "snapshot_failed": f"Your showcase could not be packed for publishing. {_TRY_LATER}",
    "not_in_index": (
        "Your showcase was not found among the saved showcases, so nothing was published. "
        "Press Retry, and contact us if it happens again."
    ),
}
"""The error a studio reads when its showcase could not be published at all, per reason."""
SYNC_FAILED = f"Something went wrong on our side. {_TRY_LATER}"
"""Any other reason, and failures from before the codes."""

MACHINE_CAUSES: dict[FailureReason, str] = {
    "machine_unreachable": "could not be reached",
    "machine_refused": "refused the update",
    "command_failed": "its update commands failed",
    "storage_unavailable": "could not download the update",
    "timeout": "did not finish in time",
    "not_serving": "does not show the showcase yet",
}
"""Why a machine could not be updated, in a few words (none for an unknown reason)."""


def preparing(step: int, steps: int, name: str) -> str:
    """The index host's own steps before the snapshot (maps, dates, clean-up)."""
    return f"Getting your showcase ready: {name} ({step} of {steps})…"


def sync_retrying(attempt: int, max_attempts: int) -> str:
    return (
        f"Still publishing: our storage did not answer, trying again ({attempt} of {max_attempts})…"
    )


def sync_failed(reason: FailureReason) -> str:
    return SYNC_FAILURES.get(reason, SYNC_FAILED)


Names = Mapping[str, str]
"""Region code → the place's name (from the index, carried by the request)."""
NO_NAMES: Names = MappingProxyType({})


def place(region: str, names: Names) -> str:
    return names.get(region) or region


def machine_updated(
    done: int, total: int, region: str, hands_on_to: str | None = None, names: Names = NO_NAMES
) -> str:
    """A machine of the page's region serves it; any other hands it on (fly-replay) there."""
    where = place(region, names)
    if hands_on_to:
        return (
            f"Live in {done} of {total} regions ({where}, showing your page from "
            f"{place(hands_on_to, names)})…"
        )
    return f"Live in {done} of {total} regions ({where})…"


def machine_failed(
    machine_id: str,
    region: str,
    reason: FailureReason,
    done: int,
    total: int,
    names: Names = NO_NAMES,
) -> str:
    cause = MACHINE_CAUSES.get(reason)
    why = f" ({cause})" if cause else ""
    return (
        f"{place(region, names)} could not be updated yet{why}; live in {done} of {total} regions…"
    )


def fleet_failed(
    failures: Sequence[MachineFailure], updated: Sequence[str], names: Names = NO_NAMES
) -> str:
    """What failed and where, then what the studio can do about it."""
    failed, total = len(failures), len(failures) + len(updated)
    details = ", ".join(_machine(f, names) for f in failures)
    if updated:
        served = "It is already live in the others. "
        head = f"{failed} of {total} regions could not be updated"
    else:
        served = ""
        head = "The region could not be updated" if total == 1 else "No region could be updated"
    return (
        f"{head}: {details}. {served}"
        "Press Retry to try again: only the regions that failed are updated."
    )


def _machine(failure: MachineFailure, names: Names = NO_NAMES) -> str:
    cause = MACHINE_CAUSES.get(failure.reason)
    return f"{place(failure.region, names)} ({failure.machine_id}{', ' + cause if cause else ''})"


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


def stuck(after_s: float) -> str:
    """No step for `after_s` seconds: stopped, saved, the operators told, Retry offered."""
    return (
        f"Publishing made no progress for {duration_words(after_s)}, so it was stopped. Nothing is "
        "lost: your showcase is saved and the operators have been told. Press Retry to try again."
    )
