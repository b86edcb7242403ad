"""The JSON API's error bodies, shaped like FastAPI's own validation errors."""

from __future__ import annotations

from fastapi.responses import JSONResponse


def field_errors(
    errors: dict[str, str], where: str = "body", kind: str = "value_error"
) -> JSONResponse:
    """422 with a per-field error list; `kind` is each error's `type` (`value_error`, or a
    business refusal: `unknown_location`, `taken`)."""
    detail = [
        {"loc": [where, field], "msg": message, "type": kind} for field, message in errors.items()
    ]
    return JSONResponse({"detail": detail}, status_code=422)
