"""An OpenAPI document whose integer bounds are exact, finished by the service (its examples).

FastAPI passes the schema through its own OpenAPI model, whose `minimum`/`maximum` are floats:
2**63 - 1 comes out as 9.223372036854776e18, that is 2**63, a value the service refuses. A
fuzzer holding the service to its document then sends 2**63 and gets a 422. `exact_openapi`
puts back the named models' schemas as pydantic writes them (integers stay integers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

__all__ = ["exact_openapi"]


def exact_openapi(
    app: FastAPI,
    models: tuple[type[BaseModel], ...],
    finish: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Serve `app`'s OpenAPI document with `models`' component schemas exactly as pydantic
    generates them (validation mode, the mode FastAPI uses for request bodies); `finish`, when
    given, completes the document once, when it is first asked for (examples that depend on
    the day: a start date next year)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.get("components", {}).get("schemas", {})
            for model in models:
                if model.__name__ in schemas:
                    exact = model.model_json_schema(ref_template="#/components/schemas/{model}")
                    schemas.update(exact.pop("$defs", {}))
                    schemas[model.__name__] = exact
            if finish is not None:
                finish(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
