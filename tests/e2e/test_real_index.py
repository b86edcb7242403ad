"""The whole stack on a real-shaped Rails index (issue: run on the real index, feed the fleet).

A studio whose password is an `htpasswd -n` line, and whose `sites` names its location, submits
through the form and the JSON API; both requests complete. Then, as the Rails application and
its machines would see it: the new rows are Rails-shaped, the Rails tables' definitions are
byte-identical, every agent's `showcases.yml` read by Ruby (symbol keys) holds the new events,
and the S3 copy the machines' sync script reads holds the Rails tables only.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from showcase_common.index import table_definitions, table_names

from tests.support.rails_fixture import KNOWN_LOGINS, build_rails_index
from tests.support.stack import LocalStack, running_local_stack
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

STUDIO = ("studio", KNOWN_LOGINS["studio"][0])
RAILS_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")


@pytest.fixture(scope="module")
def fixture_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, dict]]:
    root = tmp_path_factory.mktemp("real-index")
    index = root / "data" / "index" / "index.sqlite3"
    index.parent.mkdir(parents=True)
    build_rails_index(index)
    with contextlib.closing(sqlite3.connect(index)) as db:
        before = table_definitions(db)
    with running_local_stack(root) as stack:
        yield stack, before


def _location(stack: LocalStack) -> dict[str, Any]:
    location = stack.owned_location("studio")
    with contextlib.closing(sqlite3.connect(stack.index_db_path)) as db:
        (sites,) = db.execute("SELECT sites FROM users WHERE userid = 'studio'").fetchone()
    assert location["name"] in sites.split(","), "the fixture's studio names its location"
    return location


def _submit_form(stack: LocalStack, location: dict[str, Any], name: str) -> str:
    form = {"name": name, "location_id": str(location["id"]), "start_date": "2027-05-16",
            "end_date": "2027-05-17"}  # fmt: skip
    response = httpx.post(f"{stack.intake_url}/showcases", data=form, auth=STUDIO, timeout=30,
                          follow_redirects=True)  # fmt: skip
    assert response.status_code == 200, response.text
    match = re.search(r'data-request-id="([^"]+)"', response.text)
    assert match, "the progress page names its request"
    return match[1]


def _submit_api(stack: LocalStack, location: dict[str, Any], name: str) -> str:
    body = {"name": name, "location_id": location["id"], "start_date": "2027-06-20"}
    response = httpx.post(f"{stack.intake_url}/api/showcases", json=body, auth=STUDIO, timeout=30)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["showcase"]["date"] == "2027-06-20"
    assert created["showcase"]["start_date"] == "2027-06-20"
    return str(created["request_id"])


async def _completed(stack: LocalStack, request_id: str) -> None:
    async def done() -> bool:
        async with httpx.AsyncClient(auth=STUDIO, timeout=10) as http:
            state = (await http.get(f"{stack.intake_url}/api/requests/{request_id}")).json()
        assert state["status"] != "failed", state
        return bool(state["status"] == "completed")

    await eventually(done, timeout_s=120, what=f"request {request_id} completed")


def _row(stack: LocalStack, name: str) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(stack.index_db_path)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM showcases WHERE name = ?", (name,)).fetchone()
        (top,) = db.execute('SELECT max("order") FROM showcases').fetchone()
    assert row is not None, name
    return dict(row) | {"max_order": top}


def _ruby_events(yml: Path, year: int, location_key: str) -> dict[str, Any]:
    """What the fleet's Rails code reads: `YAML.load` with symbol keys, `[year][loc][:events]`."""
    script = (
        "d = YAML.load_file(ARGV[0], permitted_classes: [Symbol]);"
        " e = d.dig(ARGV[1].to_i, ARGV[2]) || {};"
        " puts JSON.dump((e[:events] || {}).transform_values { |v| {name: v[:name], date: v[:date]} })"
    )
    out = subprocess.run(
        ["ruby", "-ryaml", "-rjson", "-e", script, str(yml), str(year), location_key],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


async def test_a_studio_on_the_real_index_feeds_the_real_fleet(
    fixture_stack: tuple[LocalStack, dict[str, str]],
) -> None:
    stack, definitions_before = fixture_stack
    location = _location(stack)
    by_form, by_api = (f"Real {kind} {uuid.uuid4().hex[:6]}" for kind in ("Form", "Api"))
    await _completed(stack, _submit_form(stack, location, by_form))
    await _completed(stack, _submit_api(stack, location, by_api))

    form_row, api_row = _row(stack, by_form), _row(stack, by_api)
    assert form_row["date"] == "2027-05-16 - 2027-05-17" and api_row["date"] == "2027-06-20"
    assert api_row["order"] == form_row["order"] + 1 == api_row["max_order"]
    assert form_row["year"] == 2027 and form_row["key"] == by_form.lower().replace(" ", "-")
    assert RAILS_TIMESTAMP.match(form_row["created_at"]), form_row["created_at"]

    with contextlib.closing(sqlite3.connect(stack.index_db_path)) as db:
        assert table_definitions(db) == definitions_before

    if shutil.which("ruby") is None:
        pytest.skip("ruby is not installed (make test installs it as root): cannot load the YAML")
    for agent_id in stack.agent_urls:
        yml = next(stack.agent_data_dir(agent_id).rglob("showcases.yml"))
        events = _ruby_events(yml, 2027, location["key"])
        assert events[form_row["key"]] == {"name": by_form, "date": "2027-05-16 - 2027-05-17"}
        assert events[api_row["key"]] == {"name": by_api, "date": "2027-06-20"}


def test_the_s3_copy_holds_the_rails_tables_only(
    fixture_stack: tuple[LocalStack, dict[str, str]], tmp_path: Path
) -> None:
    stack, definitions_before = fixture_stack
    env = stack.stack.service_env()
    s3 = boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        region_name=env["S3_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    copy = tmp_path / "index.sqlite3"
    s3.download_file(env["S3_BUCKET"], "db/index.sqlite3", str(copy))
    with contextlib.closing(sqlite3.connect(copy)) as db:
        tables = table_names(db)
        definitions = table_definitions(db)
    assert not [t for t in tables if t.startswith("pipeline_")], tables
    assert definitions == definitions_before
