"""An outside fuzzer: schemathesis generates requests from intake's own OpenAPI document and
sends them over real HTTP to a real `python -m intake` (a real nats-server behind it), logged
in as the seeded `studio` and `admin`. No 5xx, no status the document does not list, and no
schema-valid request refused as invalid (tests/support/fuzz.py; seed: FUZZ_SEED). And the
fuzzer does not only get refusals: steered by the document's examples
(`intake.web.openapi.add_examples`), it gets a showcase made through every showcase POST, as
each login (the last test)."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections import Counter
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


SHOWCASE_POSTS = {
    "POST /api/showcases": 201,
    "POST /showcases": 303,
    "POST /studios/{location_key}/request": 303,
    "POST /showcase/studios/{location_key}/request": 303,
}
"""Every POST that makes a showcase, and its status when it does (the contract's: the JSON API
answers 201 with the showcase; a form 303 to the request's page, or an admin's landing page)."""

MADE_BY = {
    "studio": set(SHOWCASE_POSTS),
    "admin": {"POST /api/showcases", "POST /showcases"},
}
"""Where each login's run must get a showcase made. The admin's run comes second: on a studio's
own form the location is the path's (`boston`, the seeded studio's), where the studio's run,
varying the examples, has already made the names the admin's examples use there (the admin's
answers are then the contract's `taken` refusals). Elsewhere the admin's examples name a
location no studio owns (`chicago`)."""

Answers = Counter[tuple[str, str, int]]
"""(login, operation, status) → how many times the fuzzer got that answer."""


@pytest.fixture(scope="module")
def answers() -> Answers:
    return Counter()


def _follow(
    login: str, answers: Answers
) -> Callable[[schemathesis.Case, schemathesis.Response], None]:
    def answered(case: schemathesis.Case, response: schemathesis.Response) -> None:
        answers[(login, case.operation.label, response.status_code)] += 1
        known = _key_and_digest(case, login)
        if known is not None and response.status_code == 201:
            _stored_keys.setdefault(*known)

    return answered


@schema.parametrize()
@fuzz_settings(max_examples=20)
def test_intake_answers_a_studio_as_its_openapi_document_says(
    case: schemathesis.Case, studio: requests.Session, answers: Answers
) -> None:
    fuzz_call(case, studio, exempt=_exempt("studio"), answered=_follow("studio", answers))


@schema.parametrize()
@fuzz_settings(max_examples=10)
def test_intake_answers_an_admin_as_its_openapi_document_says(
    case: schemathesis.Case, admin: requests.Session, answers: Answers
) -> None:
    fuzz_call(case, admin, exempt=_exempt("admin"), answered=_follow("admin", answers))


@pytest.mark.parametrize("login", ["studio", "admin"])
def test_the_fuzzer_gets_a_showcase_made_through_every_showcase_post(
    login: str, answers: Answers
) -> None:
    """After the two tests above (pytest runs a module's tests in order): each showcase POST
    answered the fuzzer's requests as `login` with its success status at least once
    (`MADE_BY`)."""
    got: dict[str, Counter[int]] = {operation: Counter() for operation in SHOWCASE_POSTS}
    for (who, operation, status), times in answers.items():
        if who == login and operation in got:
            got[operation][status] += times
    if not any(got.values()):
        pytest.skip("the fuzz tests above did not run (deselected): nothing to judge")
    for operation, statuses in got.items():
        print(
            f"\n{login} {operation}: " + ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items()))
        )
    missing = {op: dict(got[op]) for op in MADE_BY[login] if not got[op][SHOWCASE_POSTS[op]]}
    assert not missing, f"the fuzzer never got a showcase made through these (answers): {missing}"
