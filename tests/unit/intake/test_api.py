"""POST /api/showcases through `build(settings, FakeIntakePorts(...))`, with a fake pipeline and mailer."""

from __future__ import annotations

import httpx
import pytest
from intake.route_deps import RouteDeps
from showcase_common import events
from showcase_common.tokens import verify_token

from tests.support.fakes import FakeMailer, FakePipeline
from tests.unit.intake.conftest import ADMIN, SECRET, STUDIO
from tests.unit.intake.helpers import add_user, counts, location_id

pytestmark = pytest.mark.asyncio


async def _post(client: httpx.AsyncClient, body: object, auth=STUDIO, **kw) -> httpx.Response:
    return await client.post("/api/showcases", json=body, auth=auth, **kw)


async def test_regular_user_gets_201_with_request_progress_and_redirect(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline
) -> None:
    body = {"name": "Spring Gala, 2026", "location_id": 1, "start_date": "2026-04-12"}
    response = await _post(client, body)
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["showcase"] == {
        "id": 1,
        "location_id": 1,
        "location_key": "boston",
        "year": 2026,
        "key": "spring-gala",
        "name": "Spring Gala, 2026",
        "order": 1,
        "date": "2026-04-12",
        "start_date": "2026-04-12",
        "end_date": None,
    }
    request_id = out["request_id"]
    assert out["status_url"] == f"http://intake.test/api/requests/{request_id}"
    assert out["redirect_url"] == "http://fleet.test/showcase/2026/boston/spring-gala/"
    token = out["progress"]["token"]
    assert out["progress"]["ws_url"] == f"ws://gateway.test/ws/progress?token={token}"
    grant = verify_token(SECRET, token)
    assert grant.user == "studio" and grant.request_ids == {request_id}
    assert response.headers["x-request-id"]

    assert await deps.relay.drain() == 1
    [(msg_id, event)] = pipeline.published
    assert msg_id == event.event_id  # the outbox row id is the Nats-Msg-Id
    assert isinstance(event, events.ShowcaseCreated)
    assert event.request.request_id == request_id and event.request.user == "studio"
    assert event.request.redirect_url == out["redirect_url"]
    assert await deps.relay.drain() == 0  # marked sent after the ack: never twice


async def test_admin_gets_201_without_request_and_one_email(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline, mailer: FakeMailer
) -> None:
    response = await _post(client, {"name": "Winter Ball", "location_id": 2}, auth=ADMIN)
    assert response.status_code == 201
    out = response.json()
    assert out["request_id"] is None and "progress" not in out
    assert out["notice"] == "Winter Ball was successfully created."
    assert await deps.mail_relay.drain() == 1
    assert [subject for subject, _ in mailer.sent] == ["Winter Ball was successfully created."]
    assert await deps.relay.drain() == 0 and pipeline.published == []


async def test_order_is_max_plus_one_and_year_comes_from_start_date(
    client: httpx.AsyncClient,
) -> None:
    first = await _post(client, {"name": "A", "location_id": 1, "start_date": "2027-03-01"})
    second = await _post(client, {"name": "B", "location_id": 2}, auth=ADMIN)
    third = await _post(client, {"name": "C", "location_id": 1, "year": 2028})
    assert first.json()["showcase"]["year"] == 2027
    assert [r.json()["showcase"]["order"] for r in (first, second, third)] == [1, 2, 3]
    assert third.json()["showcase"]["year"] == 2028


async def test_same_name_or_key_in_another_year_or_location_is_fine(
    client: httpx.AsyncClient,
) -> None:
    assert (
        await _post(client, {"name": "Gala", "location_id": 1, "year": 2026})
    ).status_code == 201
    assert (
        await _post(client, {"name": "Gala", "location_id": 1, "year": 2027})
    ).status_code == 201
    admin = await _post(client, {"name": "Gala", "location_id": 2, "year": 2026}, auth=ADMIN)
    assert admin.status_code == 201


# --- authentication and ownership ---------------------------------------------------------


@pytest.mark.parametrize("auth", [None, ("studio", "wrong"), ("nobody", "studio")])
async def test_bad_credentials_get_401_with_a_challenge(
    client: httpx.AsyncClient, deps: RouteDeps, auth
) -> None:
    before = counts(deps)
    response = await client.post("/api/showcases", json={"name": "X", "location_id": 1}, auth=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert counts(deps) == before


async def test_garbled_authorization_header_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/showcases/new", headers={"Authorization": "Basic %%%"})
    assert response.status_code == 401


async def test_regular_user_may_not_use_another_studios_location(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    before = counts(deps)
    response = await _post(client, {"name": "Theirs", "location_id": location_id(deps, "chicago")})
    assert response.status_code == 403
    assert counts(deps) == before


# --- Idempotency-Key ------------------------------------------------------------------


def _same_creation(first: dict, again: dict) -> None:
    """A replay names what the first POST created; only its progress token is its own."""
    without_progress = {k: v for k, v in first.items() if k != "progress"}
    assert {k: v for k, v in again.items() if k != "progress"} == without_progress
    if "progress" in first:
        token = again["progress"]["token"]
        assert again["progress"]["ws_url"] == f"ws://gateway.test/ws/progress?token={token}"
        fresh, old = verify_token(SECRET, token), verify_token(SECRET, first["progress"]["token"])
        assert fresh.user == old.user and fresh.request_ids == {first["request_id"]}
        assert fresh.expires_at >= old.expires_at  # issued now, not stored with the key


async def test_repeated_key_with_same_body_answers_with_the_first_showcase_and_request(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    body = {"name": "Once", "location_id": 1}
    first = await _post(client, body, headers={"Idempotency-Key": "k-1"})
    again = await _post(client, body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    _same_creation(first.json(), again.json())
    assert counts(deps)["Showcase"] == 1 and counts(deps)["Outbox"] == 1


async def test_repeated_key_with_other_body_is_422(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    await _post(client, {"name": "Once", "location_id": 1}, headers={"Idempotency-Key": "k-2"})
    before = counts(deps)
    other = await _post(
        client, {"name": "Twice", "location_id": 1}, headers={"Idempotency-Key": "k-2"}
    )
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert counts(deps) == before


async def test_keys_are_per_user_and_admin_replay_sends_no_second_email(
    client: httpx.AsyncClient, deps: RouteDeps, mailer: FakeMailer
) -> None:
    headers = {"Idempotency-Key": "shared"}
    mine = await _post(client, {"name": "Mine", "location_id": 1}, headers=headers)
    theirs = await _post(client, {"name": "Theirs", "location_id": 2}, ADMIN, headers=headers)
    replay = await _post(client, {"name": "Theirs", "location_id": 2}, ADMIN, headers=headers)
    assert mine.status_code == theirs.status_code == replay.status_code == 201
    _same_creation(theirs.json(), replay.json())
    assert await deps.mail_relay.drain() == 1
    assert await deps.mail_relay.drain() == 0
    assert len(mailer.sent) == 1


async def test_invalid_body_with_key_is_not_remembered(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    headers = {"Idempotency-Key": "k-3"}
    assert (await _post(client, {"name": "", "location_id": 1}, headers=headers)).status_code == 422
    assert (
        await _post(client, {"name": "Fixed", "location_id": 1}, headers=headers)
    ).status_code == 201


# --- validation -------------------------------------------------------------------------

INVALID = [
    ({"name": "", "location_id": 1}, "name"),
    ({"name": "   ", "location_id": 1}, "name"),
    ({"name": "x" * 121, "location_id": 1}, "name"),
    ({"name": "Bell\x07", "location_id": 1}, "name"),
    ({"name": "!!!", "location_id": 1}, "key"),
    ({"name": "A", "location_id": 1, "key": "Bad Key"}, "key"),
    ({"name": "A", "location_id": 1, "key": "-lead"}, "key"),
    ({"name": "A", "location_id": 1, "key": "k" * 65}, "key"),
    ({"name": "A", "location_id": 1, "year": 1999}, "year"),
    ({"name": "A", "location_id": 1, "year": 2101}, "year"),
    ({"name": "A", "location_id": 1, "start_date": "2026-02-30"}, "start_date"),
    ({"name": "A", "location_id": 1, "start_date": "12/04/2026"}, "start_date"),
    ({"name": "A", "location_id": 1, "end_date": "2026-04-12"}, "end_date"),
    (
        {"name": "A", "location_id": 1, "start_date": "2026-04-12", "end_date": "2026-04-11"},
        "end_date",
    ),
    ({"name": "A", "location_id": 2**70}, "location_id"),
    ({"name": "A", "location_id": -1}, "location_id"),
    ({"name": "A", "location_id": 1, "return_to": "https://evil.example/"}, "return_to"),
    ({"name": "A", "location_id": 1, "return_to": "//evil.example/"}, "return_to"),
]


@pytest.mark.parametrize(("body", "field"), INVALID)
async def test_each_rule_names_its_field_and_changes_nothing(
    client: httpx.AsyncClient, deps: RouteDeps, pipeline: FakePipeline, body: dict, field: str
) -> None:
    before = counts(deps)
    response = await _post(client, body)
    assert response.status_code == 422, response.text
    assert field in [e["loc"][-1] for e in response.json()["detail"]]
    assert counts(deps) == before
    assert await deps.relay.drain() == 0


async def test_an_unknown_location_is_a_422_naming_the_field_as_unknown(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    before = counts(deps)
    response = await _post(client, {"name": "A", "location_id": 999})
    assert response.status_code == 422, response.text  # the contract's status for it
    assert [(e["loc"][-1], e["type"]) for e in response.json()["detail"]] == [
        ("location_id", "unknown_location")
    ]
    assert counts(deps) == before
    # With other input wrong too, it is a 422 naming every field.
    both = await _post(client, {"name": "A", "location_id": 999, "start_date": "2026-02-30"})
    assert both.status_code == 422
    assert {e["loc"][-1] for e in both.json()["detail"]} == {"start_date", "location_id"}
    assert {e["type"] for e in both.json()["detail"]} == {"value_error"}


async def test_a_whole_number_written_as_a_float_is_a_number(client: httpx.AsyncClient) -> None:
    """JSON Schema calls 1.0 an integer; 1.5 and "1" stay refused."""
    assert (await _post(client, {"name": "Float", "location_id": 1.0})).status_code == 201
    for wrong in (1.5, "1"):
        response = await _post(client, {"name": "Float", "location_id": wrong})
        assert response.status_code == 422


async def test_name_and_key_are_unique_per_location_and_year(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    await _post(client, {"name": "Gala", "location_id": 1, "year": 2026})
    same_name = await _post(
        client, {"name": "Gala", "location_id": 1, "year": 2026, "key": "other"}
    )
    same_key = await _post(client, {"name": "Other", "location_id": 1, "year": 2026, "key": "gala"})
    assert same_name.status_code == same_key.status_code == 422  # named per field, as taken
    assert [(e["loc"][-1], e["type"]) for e in same_name.json()["detail"]] == [("name", "taken")]
    assert [(e["loc"][-1], e["type"]) for e in same_key.json()["detail"]] == [("key", "taken")]
    assert counts(deps)["Showcase"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": 5, "location_id": 1},
        {"name": "A", "location_id": "1"},
        {"name": "A", "location_id": True},
        {"name": "A", "location_id": 1, "year": "2026"},
        {"name": "A", "location_id": 1, "start_date": 20260412},
        {"name": "A", "location_id": 1, "admin": True},
        {"location_id": 1},
        ["name", "A"],
        None,
    ],
)
async def test_wrong_types_and_unknown_fields_are_422(
    client: httpx.AsyncClient, deps: RouteDeps, body: object
) -> None:
    before = counts(deps)
    response = await _post(client, body)
    assert response.status_code == 422
    assert counts(deps) == before


@pytest.mark.parametrize("content", [b"{", b"\xff\xfe", b'{"name": "A",}', b""])
async def test_malformed_json_is_422(
    client: httpx.AsyncClient, deps: RouteDeps, content: bytes
) -> None:
    before = counts(deps)
    response = await client.post(
        "/api/showcases",
        content=content,
        auth=STUDIO,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert counts(deps) == before


@pytest.mark.parametrize(
    "content", [b'{"name": NaN, "location_id": 1}', b'{"name": "A", "location_id": Infinity}']
)
async def test_nan_and_infinity_are_422_not_500(
    client: httpx.AsyncClient, deps: RouteDeps, content: bytes
) -> None:
    """Python's parser accepts these tokens; the error must still be strict JSON that names the field."""
    before = counts(deps)
    response = await client.post(
        "/api/showcases", content=content, auth=STUDIO, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][1] in ("name", "location_id")
    assert counts(deps) == before


async def test_body_over_64_kib_is_413(client: httpx.AsyncClient, deps: RouteDeps) -> None:
    before = counts(deps)
    big = {"name": "A" * (65 * 1024), "location_id": 1}
    assert (await _post(client, big)).status_code == 413

    async def chunks():  # no Content-Length: the limit holds for a streamed body too
        for _ in range(70):
            yield b" " * 1024

    streamed = await client.post(
        "/api/showcases",
        content=chunks(),
        auth=STUDIO,
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert counts(deps) == before


async def test_other_users_see_404_on_requests(client: httpx.AsyncClient, deps: RouteDeps) -> None:
    add_user(deps, "other", "other")
    created = (await _post(client, {"name": "Mine", "location_id": 1})).json()
    path = f"/api/requests/{created['request_id']}"
    assert (await client.get(path, auth=STUDIO)).status_code == 200
    assert (await client.get(path, auth=ADMIN)).status_code == 200
    assert (await client.get(path, auth=("other", "other"))).status_code == 404
    assert (await client.get("/api/requests/nope", auth=STUDIO)).status_code == 404
    assert (await client.post(f"{path}/retry", auth=("other", "other"))).status_code == 404


@pytest.mark.parametrize(
    ("base_url", "root_path"),
    [("https://intake.example:8443", ""), ("http://intake.test", "/intake"), ("http://h", "/a/")],
)
async def test_status_url_is_the_status_routes_own_address_on_any_host_and_root_path(
    app, base_url: str, root_path: str
) -> None:
    from starlette.requests import Request

    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        for _ in range(2):  # the second answer uses the route's path as looked up once
            response = await _post(client, {"name": f"Gala {_}", "location_id": 1, "year": 2026})
            assert response.status_code == 201, response.text
            out = response.json()
            scope = {"type": "http", "app": app, "router": app.router, "root_path": root_path,
                     "scheme": base_url.split(":")[0], "server": None, "path": "/",
                     "headers": [(b"host", base_url.split("//")[1].encode())]}  # fmt: skip
            expected = Request(scope).url_for("request_status", request_id=out["request_id"])
            assert out["status_url"] == str(expected)
            assert out["status_url"].endswith(f"/api/requests/{out['request_id']}")


@pytest.mark.parametrize(
    "dates",
    [{"start_date": "2026-04-12", "end_date": "2026-04-13"}, {"start_date": "2026-05-01"}, {}],
)
async def test_a_studios_answer_is_exactly_what_its_answer_model_dumps(
    client: httpx.AsyncClient, dates: dict[str, str]
) -> None:
    """The answer is written without building `ShowcaseCreatedOut`: it must still be that
    model's JSON, key for key and in order (the OpenAPI document states that model)."""
    from intake.models import ShowcaseCreatedOut

    body = {"name": "Exact Gala", "location_id": 1, "year": 2026} | dates
    for replay in (False, True):  # a replay renders the answer afresh from the saved rows
        response = await _post(client, body, headers={"Idempotency-Key": "exact-gala"})
        assert response.status_code == 201, response.text
        assert (response.headers.get("idempotent-replayed") == "true") is replay
        out = response.json()
        dumped = ShowcaseCreatedOut.model_validate(out).model_dump(mode="json")
        assert out == {k: v for k, v in dumped.items() if v is not None}
        assert list(out) == ["showcase", "request_id", "status_url", "progress", "redirect_url"]
        assert list(out["showcase"]) == list(dumped["showcase"])
        assert out["showcase"]["end_date"] == dates.get("end_date")
