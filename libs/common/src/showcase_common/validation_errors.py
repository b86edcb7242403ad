"""FastAPI's own 422 body, made safe for `NaN` and `Infinity` in the request.

Python's JSON parser accepts those tokens, pydantic refuses them, and FastAPI's default handler
then fails to echo them back as strict JSON: a 500 for what is the client's mistake. Every
service with a JSON body installs this handler instead.
"""

from __future__ import annotations

import math

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_errors)


async def _validation_errors(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
