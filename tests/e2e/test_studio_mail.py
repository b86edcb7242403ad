"""From outside on the local run: the form's 303, the request's page read three times, the list,
and exactly one e-mail in the SMTP sink's Maildir, to the requester (issue 21, "Done when")."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.support.stack import ADMIN, STUDIO, LocalStack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _form_tokens(client: httpx.Client) -> dict[str, str]:
    page = client.get("/showcases/new")
    return dict(re.findall(r'name="(csrf_token|form_token)" value="([^"]+)"', page.text))


@pytest.mark.timeout(600)
def test_the_form_redirects_the_page_reads_the_list_lists_and_one_mail_arrives(
    local_stack: LocalStack,
) -> None:
    name = f"Mail Gala {uuid.uuid4().hex[:6]}"
    location = local_stack.owned_location("studio")
    with httpx.Client(base_url=local_stack.intake_url, auth=STUDIO, timeout=30) as client:
        form = _form_tokens(client) | {
            "name": name,
            "location_id": str(location["id"]),
            "start_date": "2027-09-18",
        }
        posted = client.post("/showcases", data=form)
        assert posted.status_code == 303
        page_path = posted.headers["location"]
        request_id = page_path.rsplit("/", 1)[1]
        before = local_stack.showcase_count()
        for _ in range(3):
            assert client.get(page_path).status_code == 200
        assert local_stack.showcase_count() == before  # reading it creates nothing
        assert page_path in client.get("/requests").text
        assert httpx.get(f"{local_stack.intake_url}{page_path}").status_code == 401

        def completed() -> bool:
            return client.get(f"/api/requests/{request_id}").json()["status"] == "completed"

        wait_until(completed, 120, "the request completed")

    def mails_about(show: str) -> list[Any]:
        return [m for m in local_stack.mail() if show in (m["Subject"] or "")]

    wait_until(lambda: len(mails_about(name)) == 1, 60, "one mail about it")
    [mail] = mails_about(name)
    assert mail["To"] == "studio@localhost"
    assert mail["Subject"] == f"{name} is live"
    text = mail.get_payload()[0].get_payload(decode=True).decode()
    assert f"{local_stack.fleet_url}/showcase/2027/{location['key']}/" in text


@pytest.mark.timeout(300)
def test_an_admins_showcase_sends_no_studio_mail(local_stack: LocalStack) -> None:
    name = f"Admin Gala {uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=local_stack.intake_url, auth=ADMIN, timeout=30) as client:
        form = _form_tokens(client) | {"name": name, "location_id": "2", "start_date": "2027-09-18"}
        posted = client.post("/showcases", data=form)
        assert posted.status_code == 303 and "/events" in posted.headers["location"]

    # the admins' own notice arrives (the old behaviour) …
    def notices() -> list[object]:
        return [
            m for m in local_stack.mail() if m["Subject"] == f"{name} was successfully created."
        ]

    wait_until(lambda: len(notices()) == 1, 60, "the admins' notice")
    # … and nothing else about it: no request, so no outcome and no studio mail
    about = [m["Subject"] for m in local_stack.mail() if name in (m["Subject"] or "")]
    assert about == [f"{name} was successfully created."]
