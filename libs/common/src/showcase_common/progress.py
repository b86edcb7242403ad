"""The progress message of the contract: what the WebSocket sends and the status URL answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

# What a studio is told when its index could not be published, one fixed text per cause. The syncer
# puts one of them in `IndexSyncFailed.error`; the gateway passes on only these (never raw error
# text, which may hold paths or hosts) and `SYNC_FAILED` for anything else.
SYNC_STORAGE_FAILED = (
    "We could not publish the updated index (storage unavailable). "
    "Nothing is lost: press Retry in a few minutes."
)
SYNC_SNAPSHOT_FAILED = (
    "We could not publish the updated index (the index could not be copied). "
    "Nothing is lost: press Retry in a few minutes."
)
SYNC_NOT_IN_INDEX = (
    "We could not find your showcase in the index. Nothing was published: press Retry, "
    "and contact us if it happens again."
)
SYNC_FAILED = (
    "We could not publish the updated index. Nothing is lost: press Retry in a few minutes."
)
STUDIO_SYNC_MESSAGES = frozenset({SYNC_STORAGE_FAILED, SYNC_SNAPSHOT_FAILED, SYNC_NOT_IN_INDEX})

Status = Literal["queued", "processing", "completed", "failed"]
Step = Literal["queued", "syncing", "updating", "done", "failed"]


class RequestProgress(BaseModel):
    """One request's current state. `progress` never decreases; 100 exactly when completed."""

    model_config = ConfigDict(extra="ignore")

    request_id: str
    status: Status = "queued"
    progress: int = 0
    step: Step = "queued"
    message: str = "Saving your request…"
    redirect_url: str | None = None
    error: str | None = None
    retry_url: str | None = None
    eta_seconds: float | None = None
    user: str | None = None
    updated_at: str | None = None
    failed_machines: list[str] = []
    failed_step: Literal["sync", "machines"] | None = None

    def public(self) -> dict[str, object]:
        """The message as sent to the browser (no owner field)."""
        return self.model_dump(mode="json", exclude={"user"})
