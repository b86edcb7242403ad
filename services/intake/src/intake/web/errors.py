"""The JSON API's error bodies, shaped like FastAPI's own validation errors."""

from __future__ import annotations

from fastapi.responses import JSONResponse


def field_errors(errors: dict[str, str], where: str = "body", status: int = 422) -> JSONResponse:
    detail = [
        {"loc": [where, field], "msg": message, "type": "value_error"}
        for field, message in errors.items()
    ]
    return JSONResponse({"detail": detail}, status_code=status)
