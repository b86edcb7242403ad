"""The verified-credentials cache: what it remembers, for how long, and what drops an entry; and
through the app: a changed users.password and the login throttle still win over a cached login."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from intake.credential_cache import VerifiedCredentials
from intake.route_deps import RouteDeps
from intake.security import htpasswd_line
from showcase_common.index.models import User
from sqlmodel import select

from tests.unit.intake.conftest import STUDIO

LINE = htpasswd_line("studio", "studio")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_success_is_remembered_for_the_ttl_only() -> None:
    clock = Clock()
    cache = VerifiedCredentials(ttl_s=60, clock=clock)
    assert not cache.cached("studio", "studio", LINE)
    assert cache.check("studio", "studio", LINE)
    assert cache.cached("studio", "studio", LINE)
    clock.now += 59
    assert cache.cached("studio", "studio", LINE)
    clock.now += 2
    assert not cache.cached("studio", "studio", LINE)
    assert len(cache) == 0  # the stale entry is gone, not just ignored


def test_a_changed_line_drops_the_entry() -> None:
    cache = VerifiedCredentials()
    assert cache.check("studio", "studio", LINE)
    new_line = htpasswd_line("studio", "new password")
    assert not cache.cached("studio", "studio", new_line)
    assert len(cache) == 0
    assert not cache.check("studio", "studio", new_line)  # the old password no longer works
    assert not cache.cached("studio", "studio", LINE)  # and it was not re-remembered


def test_failures_and_missing_lines_are_never_remembered() -> None:
    cache = VerifiedCredentials()
    assert not cache.check("studio", "wrong", LINE)
    assert not cache.check("studio", "studio", None)
    assert not cache.check("other", "studio", LINE)  # a line of another user
    assert len(cache) == 0
    assert not cache.cached("studio", "wrong", LINE)


def test_the_password_is_not_what_is_kept() -> None:
    cache = VerifiedCredentials()
    cache.check("studio", "a-very-distinct-password", LINE)
    kept = b"".join(key + entry.line_digest for key, entry in cache._entries.items())
    assert b"a-very-distinct-password" not in kept and b"studio" not in kept


def test_ttl_zero_verifies_every_time() -> None:
    cache = VerifiedCredentials(ttl_s=0)
    assert cache.check("studio", "studio", LINE)
    assert not cache.cached("studio", "studio", LINE)


def test_the_oldest_entries_go_first_past_the_size() -> None:
    cache = VerifiedCredentials(size=2)
    lines = {name: htpasswd_line(name, "pw") for name in ("a", "b", "c")}
    for name, line in lines.items():
        assert cache.check(name, "pw", line)
    assert not cache.cached("a", "pw", lines["a"])
    assert cache.cached("b", "pw", lines["b"]) and cache.cached("c", "pw", lines["c"])


def _set_password(deps: RouteDeps, userid: str, line: str) -> None:
    with deps.db.writing() as session:
        user = session.exec(select(User).where(User.userid == userid)).one()
        user.password = line
        session.add(user)


async def test_a_new_password_in_the_index_refuses_the_cached_one_at_once(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    assert (await client.get("/showcases/new", auth=STUDIO)).status_code == 200
    assert deps.credentials.cached("studio", "studio", _line_of(deps, "studio"))
    _set_password(deps, "studio", htpasswd_line("studio", "changed"))
    assert (await client.get("/showcases/new", auth=STUDIO)).status_code == 401
    assert (await client.get("/showcases/new", auth=("studio", "changed"))).status_code == 200


async def test_a_cached_login_sees_its_sites_change_at_once(
    client: httpx.AsyncClient, deps: RouteDeps
) -> None:
    """A hit answers with the `User` kept in the entry, unless the row's sites changed: then
    the rights are the new row's (here: made an admin, who may request for any location)."""
    body = {"name": "Borrowed Gala", "location_id": 2}
    refused = await client.post("/api/showcases", json=body, auth=STUDIO)
    assert refused.status_code == 403  # location 2 is not the studio's; now cached
    assert deps.credentials.cached("studio", "studio", _line_of(deps, "studio"))
    with deps.db.writing() as session:
        user = session.exec(select(User).where(User.userid == "studio")).one()
        user.sites = "index"
        session.add(user)
    allowed = await client.post("/api/showcases", json=body, auth=STUDIO)
    assert allowed.status_code == 201
    assert deps.credentials.cached("studio", "studio", _line_of(deps, "studio"))  # no re-verify


async def test_a_throttled_login_is_refused_even_with_cached_credentials(
    client: httpx.AsyncClient, deps: RouteDeps, app: FastAPI
) -> None:
    assert (await client.get("/showcases/new", auth=STUDIO)).status_code == 200  # now cached

    def elsewhere(address: str) -> httpx.AsyncClient:  # no known address, no device cookie
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://intake.test")

    async with elsewhere("10.7.0.1") as guesser, elsewhere("10.7.0.2") as other:
        refusals = [
            (await guesser.get("/showcases/new", auth=("studio", f"guess {n}"))).status_code
            for n in range(deps.settings.login_failures + 1)
        ]
        assert refusals[-1] == 429
        throttled = await other.get("/showcases/new", auth=STUDIO)
    assert throttled.status_code == 429 and "retry-after" in throttled.headers


def _line_of(deps: RouteDeps, userid: str) -> str:
    with deps.db.session() as session:
        line = session.exec(select(User.password).where(User.userid == userid)).one()
    assert line is not None
    return line
