"""What the routes need, built once by `bootstrap.build`."""

from __future__ import annotations

from dataclasses import dataclass

from progress_gateway.config import GatewaySettings
from progress_gateway.feed import Feed
from progress_gateway.store import ProgressStore


@dataclass
class Runtime:
    settings: GatewaySettings
    store: ProgressStore
    feed: Feed
