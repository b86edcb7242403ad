"""Out-of-range numbers and overlong strings in POST /api/showcases: a 422 naming the field,
never a 5xx, nothing saved; and the OpenAPI schema states the bounds."""

from __future__ import annotations

import httpx
import pytest
from intake.route_deps import RouteDeps

from tests.unit.intake.conftest import STUDIO
from tests.unit.intake.helpers import counts

OUT_OF_RANGE = [
    ({"name": "A", "location_id": -1334557078185077112832}, "location_id"),
    ({"name": "A", "location_id": 2**63}, "location_id"),
    ({"name": "A", "location_id": 0}, "location_id"),
    ({"name": "A", "location_id": 1, "year": 10**30}, "year"),
    ({"name": "A", "location_id": 1, "year": -(10**30)}, "year"),
    ({"name": "x" * 100_00, "location_id": 1}, "name"),
    ({"name": "  \t ", "location_id": 1}, "name"),
    ({"name": "A", "location_id": 1, "key": "k" * 1000}, "key"),
    ({"name": "A", "location_id": 1, "key": "Ключ"}, "key"),
    ({"name": "A", "location_id": 1, "start_date": "9" * 1000}, "start_date"),
    ({"name": "A", "location_id": 1, "end_date": "2026-04-12T00:00"}, "end_date"),
    ({"name": "A", "location_id": 1, "return_to": "/" + "a" * 600}, "return_to"),
]


@pytest.mark.parametrize(("body", "field"), OUT_OF_RANGE)
async def test_an_out_of_range_value_is_a_422_naming_its_field(
    client: httpx.AsyncClient, deps: RouteDeps, body: dict, field: str
) -> None:
    before = counts(deps)
    response = await client.post("/api/showcases", json=body, auth=STUDIO)
    assert response.status_code == 422, response.text
    assert field in [e["loc"][-1] for e in response.json()["detail"]]
    assert counts(deps) == before


async def test_values_at_the_bounds_are_accepted(client: httpx.AsyncClient) -> None:
    body = {"name": "  " + "x" * 120 + "  ", "location_id": 1, "year": 2100, "key": "k" * 64}
    response = await client.post("/api/showcases", json=body, auth=STUDIO)
    assert response.status_code == 201, response.text
    assert response.json()["showcase"]["name"] == "x" * 120


async def test_the_openapi_schema_states_the_bounds(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["ShowcaseIn"]
    fields = schema["properties"]
    # Exact (showcase_common.openapi): FastAPI alone would write 2**63 - 1 as the float 2.0**63.
    assert (fields["location_id"]["minimum"], fields["location_id"]["maximum"]) == (1, 2**63 - 1)
    assert isinstance(fields["location_id"]["maximum"], int)
    assert fields["name"]["minLength"] == 1 and fields["name"]["maxLength"] == 120
    year = next(option for option in fields["year"]["anyOf"] if option.get("type") == "integer")
    assert (year["minimum"], year["maximum"]) == (2000, 2100)
    key = next(option for option in fields["key"]["anyOf"] if option.get("type") == "string")
    assert key["maxLength"] == 64
