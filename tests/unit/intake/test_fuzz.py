"""Property: whatever arrives, intake never answers 5xx, and only a 201 changes anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake.seed import seed

from tests.unit.intake.conftest import ADMIN, STUDIO, deps_of, in_process, make_settings
from tests.unit.intake.helpers import counts

FIELDS = ["name", "location_id", "key", "year", "start_date", "end_date", "return_to"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and ±Infinity too: Python's parser accepts them, strict JSON does not
    st.text(max_size=40),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["", " ", "2026-02-30", "//evil", "/ok", "<script>", "a,b", "spring-gala"]),
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from([*FIELDS, "admin", "id", "order"]), scalars, max_size=8),
    st.lists(scalars, max_size=3),
    scalars,
)
raw = st.one_of(st.binary(max_size=60), st.text(max_size=60).map(str.encode))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("fuzz")
    settings = make_settings(path)
    seed(settings.index_db_path)
    app = in_process(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _check(client: TestClient, response_status: int, before: dict[str, int]) -> None:
    after = counts(deps_of(client.app))  # type: ignore[arg-type]
    assert response_status < 500
    if response_status not in (200, 201, 303):
        assert after == before


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, admin=st.booleans())
def test_json_bodies(client: TestClient, body: object, admin: bool) -> None:
    before = counts(deps_of(client.app))  # type: ignore[arg-type]
    response = client.post(
        "/api/showcases",
        content=json.dumps(body),  # not `json=`: httpx refuses to send NaN, a hostile client won't
        headers={"Content-Type": "application/json"},
        auth=ADMIN if admin else STUDIO,
    )
    _check(client, response.status_code, before)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=raw,
    kind=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
        ]
    ),
)
def test_raw_bodies(client: TestClient, content: bytes, kind: str) -> None:
    before = counts(deps_of(client.app))  # type: ignore[arg-type]
    path = "/api/showcases" if kind == "application/json" else "/showcases"
    response = client.post(path, content=content, headers={"Content-Type": kind}, auth=STUDIO)
    _check(client, response.status_code, before)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=30), max_size=7))
def test_form_posts(client: TestClient, form: dict[str, str]) -> None:
    before = counts(deps_of(client.app))  # type: ignore[arg-type]
    response = client.post("/showcases", data=form, auth=STUDIO, follow_redirects=False)
    _check(client, response.status_code, before)
