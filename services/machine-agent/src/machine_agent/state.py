"""The generation this machine serves, persisted in its data dir so a restart knows it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pydantic import BaseModel
from showcase_common.events import Snapshot

from machine_agent.files import write_atomically


class ServedState(BaseModel):
    snapshot: Snapshot
    applied_at: dt.datetime


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> ServedState | None:
        try:
            return ServedState.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return None

    def save(self, snapshot: Snapshot) -> ServedState:
        state = ServedState(snapshot=snapshot, applied_at=dt.datetime.now(dt.UTC))
        write_atomically(self.path, json.dumps(state.model_dump(mode="json"), indent=2).encode())
        return state
