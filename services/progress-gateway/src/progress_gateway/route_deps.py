"""`RouteDeps`: what the gateway's routes depend on, built once by `bootstrap.build` and given to
the progress WebSocket's handler (`sockets.ProgressSocketRoute`) when the app is made."""

from __future__ import annotations

from dataclasses import dataclass

from progress_gateway.change_fanout import ChangeFanout
from progress_gateway.config import GatewaySettings
from progress_gateway.store import ProgressStore


@dataclass
class RouteDeps:
    settings: GatewaySettings
    store: ProgressStore
    changes: ChangeFanout
