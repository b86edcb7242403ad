"""Annotated dependencies, so routes read cleanly and tests can override them."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Annotated

import anyio
from anyio import to_thread
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from showcase_common.index.models import User
from sqlmodel import select

from intake import metrics
from intake.loop_reads import LoginRow
from intake.route_deps import RouteDeps
from intake.throttle import Throttled
from intake.web.cookies import set_later

_basic = HTTPBasic(realm="showcases", auto_error=False)
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="showcases"'}


async def get_route_deps(request: Request) -> RouteDeps:
    """Async, so FastAPI calls it in the event loop (a plain `def` dependency goes through
    its thread pool: a thread hand-off per request for one attribute read)."""
    return request.app.state.route_deps  # type: ignore[no-any-return]  # app.state is untyped; bootstrap sets it


Deps = Annotated[RouteDeps, Depends(get_route_deps)]


def _find_login(deps: RouteDeps, userid: str) -> LoginRow | None:
    """The login's row, read with the ORM (in a reader thread)."""
    with deps.db.session() as session:
        user = session.exec(select(User).where(User.userid == userid)).first()
    if user is None or user.id is None:
        return None
    return LoginRow(user.id, user.userid or "", user.password, user.sites)


async def _login_row(deps: RouteDeps, userid: str) -> LoginRow | None:
    """Read right here in the event loop (`intake.loop_reads`); in a reader thread only when
    the file is locked at this moment."""
    try:
        return deps.reads.login(userid)
    except sqlite3.OperationalError:
        return await deps.db.read(_find_login, deps, userid)


KNOWN_DEVICE_COOKIE = "known_device"
KNOWN_DEVICE_MAX_AGE_S = 365 * 24 * 3600


async def current_user(
    http: Request,
    deps: Deps,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> User:
    """The authenticated user, found by `userid` and verified against the htpasswd line in
    `users.password`; 401 with a Basic challenge otherwise, 429 when throttled.

    The throttle (`intake.throttle`) reserves the attempt before anything is looked up or
    verified, the owner's path (a known device cookie, a known address) first. A refusal takes
    at least LOGIN_FAILURE_MIN_S, known login or not. The login's row is read in the event
    loop; credentials verified moments ago against that very line are answered from the cache
    (`intake.credential_cache`) with no thread and no hash; only a miss verifies, in a thread.
    """
    if credentials is None:
        metrics.REFUSALS.labels("unauthenticated").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required", _CHALLENGE)
    started = time.monotonic()
    userid = credentials.username[:64]
    device = deps.known_device.unsign(http.cookies.get(KNOWN_DEVICE_COOKIE), KNOWN_DEVICE_MAX_AGE_S)
    login = Login(userid, _address(http), known_device=device == userid.casefold())
    try:
        deps.throttle.check(userid, login.address, device=login.known_device)  # 429 first
        row = await _login_row(deps, userid)
        user = await _verified_once(deps, login, credentials.password, row)
    except Throttled as throttled:
        metrics.REFUSALS.labels("throttled").inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins: wait before trying again",
            {"Retry-After": str(throttled.retry_after_s)},
        ) from None
    if user is None:
        metrics.REFUSALS.labels("bad_credentials").inc()
        left = deps.settings.login_failure_min_s - (time.monotonic() - started)
        await anyio.sleep(max(0.0, left))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid credentials", _CHALLENGE)
    if not login.known_device:
        secure = not deps.settings.showcase_dev_mode
        signed = deps.known_device.sign(userid.casefold())
        set_later(http, KNOWN_DEVICE_COOKIE, signed, max_age=KNOWN_DEVICE_MAX_AGE_S, secure=secure)
    return user


async def _verified_once(
    deps: RouteDeps, login: Login, password: str, row: LoginRow | None
) -> User | None:
    """The user when the password verifies, reserved in the throttle first (`Throttled` when
    refused); None when it does not.

    Requests with the same credentials wait for the one verification running, then find it
    remembered: a browser's burst of requests costs one hash and one place in the count.
    """
    credentials, throttle = deps.credentials, deps.throttle
    line = row.password if row is not None else None
    key = credentials.flight_key(login.userid, password)
    while (running := credentials.in_flight.get(key)) is not None:
        await running.wait()
    # Verified moments ago against this same line: answered here, no thread, no hash
    # (intake.credential_cache); the throttle was consulted before.
    if row is not None and (user := credentials.user_for(login.userid, password, row)):
        throttle.remember(login.userid, login.address)
        return user
    attempt = throttle.begin(login.userid, login.address, device=login.known_device)
    flight = credentials.in_flight[key] = anyio.Event()
    try:
        # The line names its user: verify_htpasswd refuses one that names another.
        valid = await to_thread.run_sync(
            credentials.verify, login.userid, password, line, limiter=deps.password_checks
        )
        if valid and row is not None and line is not None:
            user = row.user()
            credentials.remember(login.userid, password, line, user)
            attempt.succeeded()
            return user
        attempt.failed()
        return None
    finally:
        attempt.abandoned()  # only when neither of the above ran (a cancellation, an error)
        del credentials.in_flight[key]
        flight.set()


@dataclass(frozen=True)
class Login:
    userid: str
    address: str
    known_device: bool


def _address(http: Request) -> str:
    """The client's address (ClientAddressMiddleware has put the believable one in scope)."""
    return http.client.host if http.client else "unknown"


CurrentUser = Annotated[User, Depends(current_user)]
