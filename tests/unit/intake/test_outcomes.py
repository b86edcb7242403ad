"""A request's outcome: recorded on its row, and the studio's e-mail queued once (issue 21, item 3)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
import pytest
from intake.mail import pending
from intake.models import Request
from intake.route_deps import RouteDeps
from showcase_common import events
from showcase_common.index.models import Location, User
from sqlmodel import select

from tests.support.fakes import FakeMailer
from tests.unit.intake.conftest import ADMIN, STUDIO

pytestmark = pytest.mark.asyncio


async def _request(client: httpx.AsyncClient, deps: RouteDeps) -> events.RequestRef:
    body = {"name": "Spring Gala", "location_id": 1, "start_date": "2030-05-16"}
    created = (await client.post("/api/showcases", json=body, auth=STUDIO)).json()
    view = deps.use_cases.find_request(_user(deps, "studio"), created["request_id"])
    assert view is not None
    return view.ref


def _user(deps: RouteDeps, userid: str) -> User:
    with deps.db.session() as session:
        return session.exec(select(User).where(User.userid == userid)).one()


def _set(deps: RouteDeps, model: type, where: Any, **values: object) -> None:
    with deps.db.writing() as session:
        row: Any = session.exec(select(model).where(where)).one()
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)


def _completed(ref: events.RequestRef, **kw: object) -> events.FleetUpdated:
    return events.FleetUpdated(
        generation=2, requests=[ref], machine_ids=["m1"], duration_s=0.2, **kw
    )


def _status(deps: RouteDeps, request_id: str) -> str:
    with deps.db.session() as session:
        request = session.get(Request, request_id)
        assert request is not None
        return request.status


async def test_completion_mails_the_requester_once_with_name_link_and_time(
    client: httpx.AsyncClient, deps: RouteDeps, mailer: FakeMailer
) -> None:
    ref = await _request(client, deps)
    event = _completed(ref)
    assert await deps.outcomes.handle(event) == 1
    assert _status(deps, ref.request_id) == "completed"
    assert await deps.mail_relay.drain() == 1

    assert mailer.recipients == ["studio@localhost"]
    subject, text = mailer.sent[0]
    assert subject == "Spring Gala is live"
    assert ref.redirect_url in text and "It took" in text and "seconds" in text
    assert mailer.html[0] is not None and f'href="{ref.redirect_url}"' in mailer.html[0]
    assert mailer.message_ids == [f"<showcase-notice.{ref.request_id}@localhost>"]

    # redelivered, or re-published by a replay: recorded already, nothing more is sent
    assert await deps.outcomes.handle(event) == 0
    assert await deps.outcomes.handle(_completed(ref)) == 0
    assert await deps.mail_relay.drain() == 0
    assert len(mailer.sent) == 1

    listing = (await client.get("/api/requests", auth=STUDIO)).json()["requests"]
    assert listing[0]["status"] == "completed" and listing[0]["duration_s"] is not None
    assert (await client.get("/api/requests?state=completed", auth=STUDIO)).json()["total"] == 1


async def test_failure_says_what_failed_and_where_retry_is_then_retry_and_completion(
    client: httpx.AsyncClient, deps: RouteDeps, mailer: FakeMailer
) -> None:
    ref = await _request(client, deps)
    failure = events.FleetUpdateFailed(
        generation=2,
        requests=[ref],
        failures=[
            events.MachineFailure(
                machine_id="m2", region="ord", error="connect refused", reason="machine_unreachable"
            )
        ],
        updated=["m1"],
    )
    assert await deps.outcomes.handle(failure) == 1
    assert await deps.outcomes.handle(failure) == 0  # the same failure, redelivered
    assert _status(deps, ref.request_id) == "failed"
    await deps.mail_relay.drain()
    subject, text = mailer.sent[0]
    assert subject == "Spring Gala could not be published"
    assert "Chicago" in text and "ord" not in text  # the region by its name, from the index
    assert "connect refused" not in text  # never the technical detail
    assert f"/requests/{ref.request_id}" in text and "Retry" in text
    assert (await client.get("/api/requests?state=failed", auth=STUDIO)).json()["total"] == 1

    deps.use_cases.enqueue(
        events.MachinesRetryRequested(request=ref, machine_ids=["m2"]), "retry-1", ref.request_id
    )
    assert _status(deps, ref.request_id) == "processing"
    assert await deps.outcomes.handle(_completed(ref)) == 1
    await deps.mail_relay.drain()
    assert [s for s, _ in mailer.sent] == [
        "Spring Gala could not be published",
        "Spring Gala is live",
    ]


async def test_no_mail_for_an_admins_own_request_nor_without_an_address(
    client: httpx.AsyncClient,
    deps: RouteDeps,
    mailer: FakeMailer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # an admin's showcase makes no request at all (no automation, nothing to announce) …
    admin = await client.post("/api/showcases", json={"name": "A", "location_id": 2}, auth=ADMIN)
    assert admin.json()["request_id"] is None
    # … and a request whose owner is (now) an admin is not mailed either
    ref = await _request(client, deps)
    _set(deps, User, User.userid == "studio", sites="index")
    assert await deps.outcomes.handle(_completed(ref)) == 0
    assert _status(deps, ref.request_id) == "completed"

    _set(deps, User, User.userid == "studio", sites="", email=None)
    other = await _request_named(client, deps, "Summer Gala")
    with caplog.at_level(logging.INFO, logger="intake.outcomes"):
        assert await deps.outcomes.handle(_completed(other)) == 0
    assert "has no e-mail address" in caplog.text
    await deps.mail_relay.drain()
    assert pending(deps.db) == []
    assert mailer.recipients == [None]  # the admins' own notice of their showcase, nothing else


async def _request_named(
    client: httpx.AsyncClient, deps: RouteDeps, name: str
) -> events.RequestRef:
    body = {"name": name, "location_id": 1, "start_date": "2030-06-16"}
    created = (await client.post("/api/showcases", json=body, auth=STUDIO)).json()
    view = deps.use_cases.find_request(_user(deps, "studio"), created["request_id"])
    assert view is not None
    return view.ref


async def test_the_locations_language_where_there_is_one_english_otherwise(
    client: httpx.AsyncClient, deps: RouteDeps, mailer: FakeMailer
) -> None:
    _set(deps, Location, Location.key == "boston", locale="es_ES")
    ref = await _request(client, deps)
    await deps.outcomes.handle(_completed(ref))
    _set(deps, Location, Location.key == "boston", locale="de_DE")
    other = await _request_named(client, deps, "Summer Gala")
    await deps.outcomes.handle(_completed(other))
    await deps.mail_relay.drain()
    assert [s for s, _ in mailer.sent] == ["Spring Gala ya está publicado", "Summer Gala is live"]
    assert mailer.html[0] is not None and '<html lang="es">' in mailer.html[0]


async def test_an_old_outcome_is_recorded_but_not_mailed(
    client: httpx.AsyncClient, deps: RouteDeps, mailer: FakeMailer
) -> None:
    ref = await _request(client, deps)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    assert await deps.outcomes.handle(_completed(ref, occurred_at=old)) == 0
    assert _status(deps, ref.request_id) == "completed"
