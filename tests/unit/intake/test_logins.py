"""HTTP Basic against the htpasswd lines of the Rails `users` table, and who may request where
(admins by `sites`, owners, and sisters of an owned location)."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from intake.credential_cache import VerifiedCredentials
from intake.route_deps import RouteDeps
from intake.security import htpasswd_line, verify_htpasswd
from showcase_common.index.models import Location, User
from sqlmodel import select

from tests.unit.intake.helpers import add_user, counts, location_id

# Lines made by other implementations than the one intake verifies with: OpenSSL's
# `openssl passwd -apr1 -salt Zq3xY7aB studio` (what `htpasswd -nbm` writes), the `bcrypt`
# package's hashpw at cost 5 with Apache's `$2y$` ident (`htpasswd -nbB`), and SHA-1 in base64
# computed here with hashlib (`htpasswd -nbs`).
KNOWN_LINES = {
    "apr1": "studio:$apr1$Zq3xY7aB$QD7r7kdkvUduHa1xLsq860",
    "bcrypt": "studio:$2y$05$Itce.yfM3DjksEKd04Y1hOLmYp1opgChwy.AbOity3ZND874Ceoxa",
    "sha": "studio:{SHA}" + base64.b64encode(hashlib.sha1(b"studio").digest()).decode(),
}


def _set_password(deps: RouteDeps, userid: str, line: str | None) -> None:
    with deps.db.writing() as session:
        user = session.exec(select(User).where(User.userid == userid)).one()
        user.password = line
        session.add(user)


async def _new_form(client: httpx.AsyncClient, auth: tuple[str, str]) -> httpx.Response:
    return await client.get("/showcases/new", auth=auth)


@pytest.mark.parametrize("scheme", sorted(KNOWN_LINES))
def test_known_htpasswd_lines_verify(scheme: str) -> None:
    line = KNOWN_LINES[scheme]
    assert verify_htpasswd(line, "studio", "studio")
    assert not verify_htpasswd(line, "studio", "Studio")
    assert not verify_htpasswd(line, "other", "studio")  # the line names its user


@pytest.mark.parametrize("scheme", ["apr1", "bcrypt", "sha"])
async def test_a_user_logs_in_with_each_htpasswd_scheme(
    client: httpx.AsyncClient, deps: RouteDeps, scheme: str
) -> None:
    add_user(deps, f"user-{scheme}", "s3cret pass", sites="Boston Dance Studio", scheme=scheme)
    line = htpasswd_line(f"user-{scheme}", "s3cret pass", scheme)
    prefix = {"apr1": "$apr1$", "bcrypt": "$2y$", "sha": "{SHA}"}[scheme]
    assert line.startswith(f"user-{scheme}:{prefix}")

    assert (await _new_form(client, (f"user-{scheme}", "s3cret pass"))).status_code == 200
    assert (await _new_form(client, (f"user-{scheme}", "s3cret"))).status_code == 401


@pytest.mark.parametrize("scheme", sorted(KNOWN_LINES))
async def test_fixed_lines_in_the_index_log_in(
    client: httpx.AsyncClient, deps: RouteDeps, scheme: str
) -> None:
    _set_password(deps, "studio", KNOWN_LINES[scheme])
    assert (await _new_form(client, ("studio", "studio"))).status_code == 200
    assert (await _new_form(client, ("studio", "wrong"))).status_code == 401


@pytest.mark.parametrize(
    "line",
    [
        None,  # NULL: the user cannot log in
        "studio:$1$abcdefgh$F1sbQFmrj3B5KmuFbTvrS/",  # md5-crypt: not an htpasswd scheme here
        "studio:studio",  # plain text
        "studio:{SSHA}c3R1ZGlvc3R1ZGlvc3R1ZGlvc3R1ZGlv",
        "studio:$apr1$broken",
        "admin:" + KNOWN_LINES["sha"].split(":", 1)[1],  # someone else's line
        "",
    ],
)
async def test_null_unknown_or_foreign_lines_are_401(
    client: httpx.AsyncClient, deps: RouteDeps, line: str | None
) -> None:
    _set_password(deps, "studio", line)
    before = counts(deps)
    response = await client.post(
        "/api/showcases", json={"name": "X", "location_id": 1}, auth=("studio", "studio")
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert counts(deps) == before


def test_the_cache_remembers_a_success_and_misses_a_changed_line() -> None:
    cache = VerifiedCredentials()
    line = KNOWN_LINES["apr1"]
    assert cache.check("studio", "studio", line)
    assert cache.check("studio", "studio", line)  # from the cache
    assert not cache.check("studio", "studio", KNOWN_LINES["apr1"].replace("Q", "R"))
    assert not cache.check("studio", "studio", None)
    assert not cache.check("studio", "wrong", line)


async def test_admin_is_index_among_the_sites(client: httpx.AsyncClient, deps: RouteDeps) -> None:
    add_user(deps, "boss", "pw", sites="Chicago Ballroom, index")
    add_user(deps, "fan", "pw", sites="indexes,Chicago Ballroom")
    chicago = location_id(deps, "chicago")

    boss = await client.post(
        "/api/showcases", json={"name": "A", "location_id": chicago}, auth=("boss", "pw")
    )
    fan = await client.post(
        "/api/showcases", json={"name": "B", "location_id": chicago}, auth=("fan", "pw")
    )

    assert boss.status_code == 201 and boss.json()["request_id"] is None  # an admin's
    assert fan.status_code == 403  # `sites` grants pages on the fleet, not requests


async def test_a_sister_of_an_owned_location_may_be_requested_for(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    add_user(deps, "owner", "pw", owns="raleigh", sisters=" Chicago Ballroom ,Nowhere")
    chicago = location_id(deps, "chicago")
    boston = location_id(deps, "boston")

    sister = await client.post(
        "/api/showcases", json={"name": "Sister Gala", "location_id": chicago}, auth=("owner", "pw")
    )
    other = await client.post(
        "/api/showcases", json={"name": "Not Mine", "location_id": boston}, auth=("owner", "pw")
    )
    form = await client.get("/showcases/new", auth=("owner", "pw"))

    assert sister.status_code == 201 and sister.json()["request_id"]
    assert other.status_code == 403
    assert "Chicago Ballroom" in form.text and "Raleigh Dance Center" in form.text
    assert "Boston Dance Studio" not in form.text


async def test_a_sister_listed_on_a_location_not_owned_grants_nothing(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    with deps.db.writing() as session:  # chicago (not the owner's) names raleigh
        chicago = session.exec(select(Location).where(Location.key == "chicago")).one()
        chicago.sisters = "Raleigh Dance Center"
        session.add(chicago)
    add_user(deps, "owner", "pw", owns="boston")
    raleigh = location_id(deps, "raleigh")

    response = await client.post(
        "/api/showcases", json={"name": "Nope", "location_id": raleigh}, auth=("owner", "pw")
    )
    assert response.status_code == 403
