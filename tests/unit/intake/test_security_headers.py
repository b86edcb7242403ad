"""Intake's pages cannot be framed and run only intake's own scripts (CSP, X-Frame-Options)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.unit.intake.conftest import STUDIO

pytestmark = pytest.mark.asyncio


def _assert_protected(response: httpx.Response) -> str:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    return csp


async def test_pages_carry_a_csp_that_allows_only_intake_and_the_gateway(
    client: httpx.AsyncClient,
) -> None:
    form = await client.get("/showcases/new", auth=STUDIO)
    csp = _assert_protected(form)
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline script, no other origin
    assert directives["connect-src"] == "'self' ws://gateway.test"  # the progress socket
    assert directives["form-action"] == "'self'"
    assert 'style="' not in form.text  # an inline style would be refused by style-src 'self'


async def test_refusals_and_api_answers_are_protected_too(client: httpx.AsyncClient) -> None:
    _assert_protected(await client.get("/showcases/new"))  # 401
    _assert_protected(await client.get("/healthz"))


async def test_the_api_docs_keep_their_cdn_but_cannot_be_framed(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert docs.headers["x-frame-options"] == "DENY"


async def test_the_progress_page_names_the_only_origin_it_may_leave_for(
    client: httpx.AsyncClient,
) -> None:
    form = await client.get("/showcases/new", auth=STUDIO)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    data = {
        "csrf_token": token.group(1),
        "name": "Spring",
        "location_id": "1",
        "start_date": "2030-04-12",
    }
    page = await client.post("/showcases", data=data, auth=STUDIO, follow_redirects=True)
    assert page.status_code == 200
    assert 'data-allowed-origins="http://fleet.test"' in page.text
    _assert_protected(page)
