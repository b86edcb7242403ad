"""What the OpenAPI document says beyond the routes' own types: the answers every
authenticated route can give, the HTML form's body, integer bounds as pydantic wrote them, and
an example of every request body (`add_examples`).

An outside fuzzer (tests/integration/intake/test_schemathesis.py) holds the service to this
document: every status it answers is listed here, and every request the schemas allow is
accepted, or refused as a business refusal (403; a 422 whose errors are typed
`unknown_location` or `taken`, the contract's status for them), never as invalid, except for
the few rules JSON Schema cannot state (`CROSS_FIELD_RULES`).
"""

from __future__ import annotations

import datetime as dt
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
FORM_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


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
                        "form_token": {
                            "type": "string",
                            "pattern": FORM_TOKEN_PATTERN,
                            "description": "the form's own token (one per form shown): the same"
                            " form sent twice lands on the same request",
                        },
                    },
                }
            }
        },
    }
}
"""The form's fields as `POST /showcases` reads them (`request.form()`, strings)."""

assert YEAR_MIN == 2000, "the year pattern above spells 2000..2099"


# -- examples: every request body has one that the service accepts -------------------------

EXAMPLE_STUDIO = ("boston", 1)
"""The location the examples of a studio's request name (`key`, `id`): the local run's seeded
`studio` owns it (`intake.seed`), so a client (or the fuzzer) logged in as `studio` that
sends an example gets a showcase made."""
EXAMPLE_ADMIN_LOCATION = 2
"""Where the admin's examples go (the seed's `chicago`, which no studio owns)."""

EXAMPLE_NAMES = {
    "/api/showcases": ("Spring Showcase", "Founders Showcase"),
    "/showcases": ("Summer Showcase", "Founders Gala"),
    "/studios/{location_key}/request": ("Autumn Showcase", "Founders Ball"),
    "/showcase/studios/{location_key}/request": ("Autumn Showcase", "Founders Ball"),
}
"""(a studio's, an admin's) showcase name per POST: names are unique in a location and year, so
each form gets its own, and the two paths of a studio's form share theirs (their examples carry
the same `form_token`: sent through both, the second lands on the first's request)."""


def showcase_examples(path: str, today: dt.date, *, form: bool) -> dict[str, Any]:
    """The examples of a showcase POST's body, valid by every rule the document states: a
    studio's request for its own location, a start date next year; an admin's showcase
    with the year only (an admin may leave the start date blank)."""
    studio_name, admin_name = EXAMPLE_NAMES[path]
    year = today.year + 1
    studio: dict[str, Any] = {
        "name": studio_name,
        "location_id": EXAMPLE_STUDIO[1],
        "start_date": dt.date(year, 5, 16).isoformat(),
    }
    admin: dict[str, Any] = {
        "name": admin_name,
        "location_id": EXAMPLE_ADMIN_LOCATION,
        "year": year,
    }
    if form:  # form fields are strings; the form's own token makes a re-sent form land once
        token = "example-" + path.strip("/").split("/")[-1]
        studio = {k: str(v) for k, v in studio.items()} | {"form_token": f"{token}-studio"}
        admin = {k: str(v) for k, v in admin.items()} | {"form_token": f"{token}-admin"}
    return {
        "studio": {
            "summary": "a studio's request for a location it owns, starting next year",
            "value": studio,
        },
        "admin": {
            "summary": "an admin's showcase of a year, no date yet (admins only)",
            "value": admin,
        },
    }


def add_examples(document: dict[str, Any], today: dt.date | None = None) -> None:
    """Put the examples into `document` (`exact_openapi`'s `finish`): each showcase POST's body,
    and the location key of every route that has one."""
    today = today or dt.date.today()
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "location_key" and parameter.get("in") == "path":
                    parameter["example"] = EXAMPLE_STUDIO[0]
        body = operations.get("post", {}).get("requestBody", {}).get("content", {})
        for media_type, content in body.items():
            if path in EXAMPLE_NAMES:
                form = media_type == "application/x-www-form-urlencoded"
                content["examples"] = showcase_examples(path, today, form=form)
