"""An outside fuzzer: schemathesis generates requests from intake's own OpenAPI document and
sends them over real HTTP to a real `python -m intake` (a real nats-server behind it), logged
in as the seeded `studio` and `admin`. No 5xx, no status the document does not list, and no
schema-valid request refused as invalid (tests/support/fuzz.py; seed: FUZZ_SEED)."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from devstack.servers import NatsServer

from tests.support.fuzz import _node_id_for_schemathesis, fuzz_call, fuzz_settings, load  # noqa: F401
from tests.support.intake import IntakeProcess


@pytest.fixture(scope="module")
def intake_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One intake for the whole module (each operation is a test): its own NATS and index."""
    data = tmp_path_factory.mktemp("fuzzed-intake")
    nats = NatsServer(data / "nats")
    intake = IntakeProcess(Path(data / "intake"), nats.start())
    try:
        yield intake.start().url
    finally:
        intake.stop()
        nats.stop()


@pytest.fixture(scope="module")
def intake_schema(intake_url: str) -> schemathesis.BaseSchema:
    return load(intake_url)


schema = schemathesis.pytest.from_fixture("intake_schema")


def _session(login: str) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = (login, login)  # the seed's passwords are the logins
        yield session


@pytest.fixture(scope="module")
def studio() -> Iterator[requests.Session]:
    yield from _session("studio")


@pytest.fixture(scope="module")
def admin() -> Iterator[requests.Session]:
    yield from _session("admin")


# -- the rules JSON Schema cannot state (intake.web.openapi.CROSS_FIELD_RULES) ---------------

_stored_keys: dict[tuple[str, str], str] = {}
"""(login, Idempotency-Key) → the body the server saved with it (a 201)."""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(_text(value)) if _text(value) else None


def _breaks_a_cross_field_rule(body: dict[str, Any]) -> bool:
    start, end = _date(body.get("start_date")), _date(body.get("end_date"))
    if end is not None and (start is None or end < start):
        return True
    if not _text(str(body.get("year") or "")) and start and not 2000 <= start.year <= 2100:
        return True
    name = unicodedata.normalize("NFC", _text(body.get("name")))
    derived = re.sub(r"[^a-z0-9]+", "", name.lower().split(",", 1)[0])
    if not _text(body.get("key")) and not derived:
        return True
    printable = all(ch.isprintable() for ch in name + _text(body.get("return_to")))
    return not printable or len(name) > 120


def _breaks_a_form_rule(body: dict[str, Any], admin: bool) -> bool:
    """The forms' own rules (`intake.web.openapi.FORM_RULES`), which the JSON API does not have."""
    start, year = _date(body.get("start_date")), _text(str(body.get("year") or ""))
    if admin:
        return start is None and not year
    if start is None or start < dt.date.today():
        return True
    return bool(year) and (not year.isdigit() or int(year) != start.year)


def _key_and_digest(case: schemathesis.Case, login: str) -> tuple[tuple[str, str], str] | None:
    headers: dict[str, Any] = dict(case.headers or {})
    key = headers.get("Idempotency-Key")
    if key is None or not isinstance(case.body, dict):
        return None
    digest = json.dumps(case.body, sort_keys=True, default=str)
    return (login, key), digest


def _exempt(login: str) -> Callable[[schemathesis.Case], bool]:
    def exempt(case: schemathesis.Case) -> bool:
        if not isinstance(case.body, dict):
            return False
        form = case.media_type == "application/x-www-form-urlencoded"
        try:
            crossed = _breaks_a_cross_field_rule(case.body) or (
                form and _breaks_a_form_rule(case.body, admin=login == "admin")
            )
        except ValueError:  # not a date: the schema should not have let it through
            crossed = False
        # An Idempotency-Key the server saved with another body: 422, as the IETF draft says.
        known = _key_and_digest(case, login)
        reused = known is not None and _stored_keys.get(known[0], known[1]) != known[1]
        return crossed or reused

    return exempt


def _follow_keys(login: str) -> Callable[[schemathesis.Case, schemathesis.Response], None]:
    def answered(case: schemathesis.Case, response: schemathesis.Response) -> None:
        known = _key_and_digest(case, login)
        if known is not None and response.status_code == 201:
            _stored_keys.setdefault(*known)

    return answered


@schema.parametrize()
@fuzz_settings(max_examples=20)
def test_intake_answers_a_studio_as_its_openapi_document_says(
    case: schemathesis.Case, studio: requests.Session
) -> None:
    fuzz_call(case, studio, exempt=_exempt("studio"), answered=_follow_keys("studio"))


@schema.parametrize()
@fuzz_settings(max_examples=10)
def test_intake_answers_an_admin_as_its_openapi_document_says(
    case: schemathesis.Case, admin: requests.Session
) -> None:
    fuzz_call(case, admin, exempt=_exempt("admin"), answered=_follow_keys("admin"))
