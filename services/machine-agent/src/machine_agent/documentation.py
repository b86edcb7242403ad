"""The agent's app, and its OpenAPI document served on demand.

`/openapi.json`, `/docs` and `/redoc` are answered by FastAPI's documentation app of the
agent's routes (`openapi_doc.py`), imported and built on the first request for one of them:
an agent nobody asks for its document never loads FastAPI.
"""

from __future__ import annotations

import importlib
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

DOC_PATHS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
"""What FastAPI serves of its own for an app: the document and its two viewers."""


class OnDemandDocumentation:
    """An ASGI app that builds the FastAPI documentation app when first called."""

    def __init__(self) -> None:
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The FastAPI app (typed loosely: naming its type would import FastAPI here)."""
        if self._app is None:
            self._app = importlib.import_module("machine_agent.openapi_doc").documentation_app()
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        documentation: ASGIApp = self.app
        await documentation(scope, receive, send)


class AgentApp(Starlette):
    """The agent's Starlette app; `openapi()` as a FastAPI app has it (tests, tools)."""

    documentation = OnDemandDocumentation()

    def openapi(self) -> dict[str, Any]:
        document: dict[str, Any] = self.documentation.app.openapi()
        return document


def documentation_routes() -> list[BaseRoute]:
    """Routes for `DOC_PATHS`, any method (FastAPI answers what it does not serve)."""
    return [Route(path, AgentApp.documentation, methods=None) for path in DOC_PATHS]
