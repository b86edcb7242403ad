"""The examples in intake's OpenAPI document are requests it accepts, on the seeded index: a
studio's example makes a showcase as `studio`, an admin's as `admin`, through every showcase
POST, sent as a client reading the document would send them (no CSRF token: not a browser).
And the same form example sent again lands on the same request (its `form_token`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from intake.web.openapi import EXAMPLE_STUDIO

from tests.unit.intake.conftest import ADMIN, STUDIO

SUCCESS = {"application/json": 201, "application/x-www-form-urlencoded": 303}


def _examples(app: FastAPI, who: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, media type, body) of every request body's `who` example."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        content = operations.get("post", {}).get("requestBody", {}).get("content", {})
        for media_type, body in content.items():
            url = path.replace("{location_key}", EXAMPLE_STUDIO[0])
            found.append((url, media_type, body["examples"][who]["value"]))
    return found


async def _send(
    client: httpx.AsyncClient, url: str, media_type: str, body: dict[str, Any], login: Any
) -> httpx.Response:
    if media_type == "application/json":
        return await client.post(url, json=body, auth=login)
    return await client.post(url, data=body, auth=login)


@pytest.mark.parametrize(("who", "login"), [("studio", STUDIO), ("admin", ADMIN)])
async def test_each_example_makes_a_showcase_as_its_login(
    app: FastAPI, client: httpx.AsyncClient, who: str, login: tuple[str, str]
) -> None:
    examples = _examples(app, who)
    assert {url for url, _, _ in examples} == {
        "/api/showcases",
        "/showcases",
        "/studios/boston/request",
        "/showcase/studios/boston/request",
    }
    answers = {}
    for url, media_type, body in examples:
        response = await _send(client, url, media_type, body, login)
        answers[url] = (response.status_code, SUCCESS[media_type], response.text[:300])
    assert {url: got for url, (got, _, _) in answers.items()} == {
        url: want for url, (_, want, _) in answers.items()
    }, answers


async def test_a_form_example_sent_again_lands_on_the_same_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    [(url, media_type, body)] = [e for e in _examples(app, "studio") if e[0] == "/showcases"]
    first = await _send(client, url, media_type, body, STUDIO)
    again = await _send(client, url, media_type, body, STUDIO)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert first.headers["location"].startswith("/requests/")
