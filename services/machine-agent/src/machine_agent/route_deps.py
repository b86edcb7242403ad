"""`RouteDeps`: what the agent's routes depend on, built once by `bootstrap.build` and reached in
a route with `get_route_deps(request)`, as intake's and the gateway's routes reach theirs (the
agent's routes are plain Starlette: no FastAPI `Depends`, see `api.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from machine_agent.applier import Applier
from machine_agent.config import AgentSettings
from machine_agent.sidecar import SidecarInstaller


@dataclass
class RouteDeps:
    settings: AgentSettings
    applier: Applier
    sidecar: SidecarInstaller | None
    """None: the agent renders its own pages (no Rails application beside it)."""


def get_route_deps(request: Request) -> RouteDeps:
    return request.app.state.route_deps  # type: ignore[no-any-return]  # app.state is untyped; agent_app sets it
