"""schemathesis against a running service: the checks, the configuration and the seed.

    schema = schemathesis.pytest.from_fixture("intake_schema")    # a fixture returning load()

    @schema.parametrize()
    @fuzz_settings(max_examples=25)
    def test_...(case): fuzz_call(case, session, exempt=...)

A fixed seed (`FUZZ_SEED`, default 1) and a bounded example count make a run repeatable: a red
run names the seed, and `FUZZ_SEED=<n> uv run pytest <test>` runs it again. In CI
(`HYPOTHESIS_PROFILE=ci`) the examples are derandomized as every property test's are.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance, status_code_conformance

FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "1"))

BUSINESS_REFUSALS = ["2xx", "3xx", "401", "403", "404", "409", "429"]
"""What a schema-valid request may get: success, or a documented refusal that is not about its
shape (credentials, permission, a missing request, a retry of a request that did not fail,
throttling). Not 5xx, and not a 422 that calls its input invalid: the contract's 422 for an
unknown location or a taken name says so in each error (`business_refusal`)."""

BUSINESS_ERROR_TYPES = frozenset({"unknown_location", "taken"})


def business_refusal(response: schemathesis.Response) -> bool:
    """A 422 refusing well-formed input for what the index holds (an unknown location, a name
    already taken), not for its shape: the JSON errors' `type`s, or the form's `data-refusal`."""
    if response.status_code != 422:
        return False
    if "json" in response.headers.get("content-type", [""])[0]:
        detail = response.json().get("detail")  # a per-field list, or one message
        errors = detail if isinstance(detail, list) else []
        types = {error.get("type") for error in errors if isinstance(error, dict)}
        return bool(types) and types <= BUSINESS_ERROR_TYPES
    return any(f'data-refusal="{kind}"' in response.text for kind in BUSINESS_ERROR_TYPES)


def load(url: str) -> schemathesis.BaseSchema:
    """The service's OpenAPI document, checked as the brief above says."""
    config = schemathesis.Config.from_dict(
        {
            "seed": FUZZ_SEED,
            "checks": {"positive_data_acceptance": {"expected-statuses": BUSINESS_REFUSALS}},
        }
    )
    return schemathesis.openapi.from_url(f"{url}/openapi.json", config=config, timeout=30)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's `from_fixture` renames the test through `node._nodeid`, which
    pytest 9 no longer has: give it one (harmless once schemathesis uses `nodeid`)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def fuzz_settings(max_examples: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Bounded, seeded, and without deadlines (a busy 2-core host answers slowly at times)."""

    def wrap(test: Callable[..., Any]) -> Callable[..., Any]:
        bounded = settings(
            max_examples=max_examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )(test)
        return seed(FUZZ_SEED)(bounded)

    return wrap


def fuzz_call(
    case: schemathesis.Case[Any],
    session: requests.Session,
    *,
    exempt: Callable[[schemathesis.Case[Any]], bool] = lambda _case: False,
    answered: Callable[[schemathesis.Case[Any], schemathesis.Response], None] = lambda _c, _r: None,
) -> schemathesis.Response:
    """Send `case` and check: no 5xx, every status documented, and, unless `exempt(case)` says
    the request breaks a rule its schema cannot state, a schema-valid request not refused as
    invalid. `answered` sees every answer before it is checked (to follow the server's state)."""
    checks = [not_a_server_error, status_code_conformance]
    response = case.call(session=session, timeout=60)
    answered(case, response)
    if not (exempt(case) or business_refusal(response)):
        checks.append(positive_data_acceptance)
    case.validate_response(response, checks=checks)
    return response
