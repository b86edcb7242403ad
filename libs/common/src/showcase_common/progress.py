"""The progress message of the contract: what the WebSocket sends and the status URL answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

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
    """The state before any event (intake shows it too); every later text is written by the
    progress gateway's `wording`, from the events' facts and reason codes."""
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


def duration_words(seconds: float) -> str:
    """A threshold in words: "10 seconds", "1 second", "5 minutes" (from 2 minutes on)."""
    if seconds >= 120:
        return f"{round(seconds / 60)} minutes"
    whole = max(1, round(seconds))
    return f"{whole} second{'s' if whole != 1 else ''}"
