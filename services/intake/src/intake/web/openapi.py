"""What the OpenAPI document says beyond the routes' own types: the answers every
authenticated route can give, the HTML form's body, and integer bounds as pydantic wrote them.

An outside fuzzer (tests/integration/intake/test_schemathesis.py) holds the service to this
document: every status it answers is listed here, and every request the schemas allow is
accepted, or refused as a business refusal (403; a 422 whose errors are typed
`unknown_location` or `taken`, the contract's status for them), never as invalid, except for
the few rules JSON Schema cannot state (`CROSS_FIELD_RULES`).
"""

from __future__ import annotations

from typing import Any

from intake.showcases import (
    KEY_MAX,
    KEY_SCHEMA_PATTERN,
    NAME_MAX,
    NAME_SCHEMA_PATTERN,
    RETURN_TO_MAX,
    RETURN_TO_SCHEMA_PATTERN,
    YEAR_MAX,
    YEAR_MIN,
    blank_or,
)

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_DETAIL = {"application/json": {"schema": {"type": "object", "properties": {"detail": {}}}}}

AUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "no or wrong HTTP Basic credentials",
        "headers": {
            "WWW-Authenticate": {
                "description": 'Basic realm="showcases"',
                "schema": {"type": "string"},
            }
        },
        "content": _DETAIL,
    },
    429: {
        "description": "too many failed logins for this login or from this address",
        "headers": _RETRY_AFTER,
        "content": _DETAIL,
    },
    503: {
        "description": "busy: the database queue (DB_QUEUE) or the server's connections are full",
        "headers": _RETRY_AFTER,
        "content": _DETAIL,
    },
}
"""Every route behind HTTP Basic can answer these (the login check reads the database)."""

TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"description": "the body is over MAX_BODY_BYTES", "content": _DETAIL}
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "the body cannot be parsed (not UTF-8, a broken form)",
        "content": _DETAIL,
    },
    **TOO_LARGE,
}
"""What any route reading a body can answer before its fields are looked at."""

CROSS_FIELD_RULES = (
    "`end_date` needs a `start_date` and is not before it; a blank `year` is the start date's "
    "(or this year's) and must be within the bounds; a blank `key` must be derivable from the "
    "name (a-z or 0-9 before the first comma); `name` and `return_to` hold printable characters "
    "only (Python's `str.isprintable`), `name` at most 120 of them once NFC-normalised. "
    "Breaking one of these is a 422 naming the field."
)
"""The rules JSON Schema cannot state (they relate fields, or need the Unicode database)."""

FORM_RULES = (
    "The forms add the Rails form's rules (the JSON API keeps these fields optional): a studio "
    "gives a `start_date` not in the past, and a `year`, when given, that is the start date's; "
    "an admin may leave `start_date` blank, and then gives the `year`."
)
"""`showcases.validate`'s rules for the forms only (`Rules.strict`)."""

DATE_SCHEMA = blank_or({"type": "string", "format": "date"})


FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["name", "location_id"],
                    "properties": {
                        "name": {
                            "type": "string",
                            "maxLength": NAME_MAX,
                            "pattern": NAME_SCHEMA_PATTERN,
                        },
                        "location_id": {"type": "string", "pattern": r"^[0-9]{1,9}$"},
                        "key": {
                            "type": "string",
                            "maxLength": KEY_MAX,
                            "pattern": KEY_SCHEMA_PATTERN,
                        },
                        "year": blank_or(
                            {"type": "string", "pattern": rf"^(?:20[0-9]{{2}}|{YEAR_MAX})$"}
                        ),
                        "start_date": DATE_SCHEMA,
                        "end_date": DATE_SCHEMA,
                        "return_to": {
                            "type": "string",
                            "maxLength": RETURN_TO_MAX,
                            "pattern": RETURN_TO_SCHEMA_PATTERN,
                        },
                        "csrf_token": {
                            "type": "string",
                            "description": "from the form; a non-browser client may omit it",
                        },
                    },
                }
            }
        },
    }
}
"""The form's fields as `POST /showcases` reads them (`request.form()`, strings)."""

assert YEAR_MIN == 2000, "the year pattern above spells 2000..2099"
