"""One studio request crosses the whole local stack: intake → NATS → S3 → every agent → WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import html as html_lib
import uuid
from typing import Any

import httpx
import pytest
from showcase_common import subjects

from tests.support.metrics import parse_samples, sample
from tests.support.progress import progress_until_final
from tests.support.stack import STUDIO, LocalStack
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def _submit(stack: LocalStack, name: str) -> dict[str, Any]:
    location = stack.owned_location("studio")
    body = {"name": name, "location_id": location["id"], "start_date": "2027-05-16"}
    response = httpx.post(f"{stack.intake_url}/api/showcases", json=body, auth=STUDIO, timeout=30)
    assert response.status_code == 201, response.text
    return response.json() | {"location": location}


@pytest.mark.timeout(600)
async def test_a_studio_request_reaches_every_machine_and_the_browser(
    local_stack: LocalStack,
) -> None:
    name = f"Spring Gala {uuid.uuid4().hex[:6]}, Main Hall"
    created = _submit(local_stack, name)
    request_id = created["request_id"]
    assert request_id

    async with asyncio.timeout(120):  # a safety net against a hang, not a speed assertion
        messages = await progress_until_final(created["progress"]["ws_url"], request_id)

    final = messages[-1]
    assert final["status"] == "completed", final
    progress = [m["progress"] for m in messages]
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    assert progress[-1] == 100
    assert all(m["progress"] < 100 for m in messages if m["status"] != "completed")
    assert final["redirect_url"] == created["redirect_url"]

    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(final["redirect_url"])
        status = await http.get(created["status_url"], auth=STUDIO)
    assert page.status_code == 200
    assert _html_names(page.text, name)
    assert status.status_code == 200
    assert status.json()["status"] == "completed"

    showcase = created["showcase"]
    for agent_id in local_stack.agent_urls:
        _assert_listed(local_stack.showcases_yml(agent_id), showcase, created["location"], name)
    await _assert_each_step_was_counted(local_stack.metrics_urls, list(local_stack.agent_urls))


async def _assert_each_step_was_counted(urls: dict[str, str], agent_ids: list[str]) -> None:
    """Every service serves /metrics, and the bus counters saw this request's every step.

    A delivery is counted once it is acked, just after its handler published the next event,
    so a scrape may come a moment early: poll until every count is there."""
    uncounted: list[str] = []

    async def all_counted() -> bool:
        uncounted[:] = await _uncounted_steps(urls, agent_ids)
        return not uncounted

    with contextlib.suppress(TimeoutError):
        await eventually(all_counted, 30, "the counters")
    assert not uncounted


async def _uncounted_steps(urls: dict[str, str], agent_ids: list[str]) -> list[str]:
    async with httpx.AsyncClient(timeout=30) as http:
        scraped = {name: await http.get(url) for name, url in urls.items()}
    assert {name: r.status_code for name, r in scraped.items()} == dict.fromkeys(urls, 200)
    samples = {name: parse_samples(r.text) for name, r in scraped.items()}

    def acked(service: str, durable: str, subject: str) -> float:
        labels = {"durable": durable, "subject": subject, "outcome": "acked"}
        return sample(samples[service], "showcase_events_handled_total", **labels)

    published = {"subject": subjects.SHOWCASE_CREATED, "duplicate": "false"}
    counts = {
        "intake published": sample(
            samples["intake"], "showcase_events_published_total", **published
        ),
        "syncer acked": acked("syncer", subjects.SYNCER_DURABLE, subjects.SHOWCASE_CREATED),
        "updater acked": acked(
            "machine-updater", subjects.MACHINE_UPDATER_DURABLE, subjects.INDEX_SYNCED
        ),
        "projector acked": acked(
            "progress-gateway", subjects.PROGRESS_DURABLE, subjects.FLEET_UPDATED
        ),
        **{f"{a} generation": sample(samples[a], "agent_generation") for a in agent_ids},
    }
    return [step for step, count in counts.items() if count < 1]


def _html_names(html: str, name: str) -> bool:
    return name in html or html_lib.escape(name) in html


def _assert_listed(
    document: dict[Any, Any], showcase: dict[str, Any], location: dict[str, Any], name: str
) -> None:
    """showcases.yml: year → location_key → {:name, :region, ..., :date | :events → {key → …}}
    (symbol keys, as the fleet's Ruby reads them; PyYAML reads `:name` as the string ":name")."""
    year = showcase["year"]
    entry = (document.get(year) or document.get(str(year)) or {}).get(location["key"])
    assert entry, f"{location['key']} missing from showcases.yml year {year}: {document}"
    assert entry[":name"] == location["name"]
    assert entry[":region"] == location["region"]
    if ":events" in entry:
        assert entry[":events"][showcase["key"]][":name"] == name
        assert entry[":events"][showcase["key"]][":date"].startswith("2027-05-16")
    else:  # a location's only showcase, keyed "showcase"
        assert showcase["key"] == "showcase"
        assert ":date" in entry
