"""Annotated dependencies, so routes read cleanly and tests can override them."""

from __future__ import annotations

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
from intake.route_deps import RouteDeps
from intake.throttle import Throttled
from intake.web.cookies import set_later

_basic = HTTPBasic(realm="showcases", auto_error=False)
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="showcases"'}


def get_route_deps(request: Request) -> RouteDeps:
    return request.app.state.route_deps  # type: ignore[no-any-return]  # app.state is untyped; bootstrap sets it


Deps = Annotated[RouteDeps, Depends(get_route_deps)]


def _find_user(deps: RouteDeps, userid: str) -> User | None:
    with deps.db.session() as session:
        return session.exec(select(User).where(User.userid == userid)).first()


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
    at least LOGIN_FAILURE_MIN_S, known login or not. The lookup holds a connection only while
    it runs (a reader thread), the password check holds none.
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
        user = await deps.db.read(_find_user, deps, userid)
        valid = await _verified_once(deps, login, credentials.password, user)
    except Throttled as throttled:
        metrics.REFUSALS.labels("throttled").inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins: wait before trying again",
            {"Retry-After": str(throttled.retry_after_s)},
        ) from None
    if user is None or not valid:
        metrics.REFUSALS.labels("bad_credentials").inc()
        left = deps.settings.login_failure_min_s - (time.monotonic() - started)
        await anyio.sleep(max(0.0, left))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid credentials", _CHALLENGE)
    if not login.known_device:
        secure = not deps.settings.showcase_dev_mode
        signed = deps.known_device.sign(userid.casefold())
        set_later(http, KNOWN_DEVICE_COOKIE, signed, max_age=KNOWN_DEVICE_MAX_AGE_S, secure=secure)
    return user


async def _verified_once(deps: RouteDeps, login: Login, password: str, user: User | None) -> bool:
    """Verify the password, reserved in the throttle first (`Throttled` when refused).

    Requests with the same credentials wait for the one verification running, then find it
    remembered: a browser's burst of requests costs one hash and one place in the count.
    """
    credentials, throttle = deps.credentials, deps.throttle
    line = user.password if user is not None else None
    key = credentials.flight_key(login.userid, password)
    while (running := credentials.in_flight.get(key)) is not None:
        await running.wait()
    # Verified moments ago against this same line: answered here, no thread, no hash
    # (intake.credential_cache); the throttle was consulted before.
    if credentials.cached(login.userid, password, line):
        throttle.remember(login.userid, login.address)
        return True
    attempt = throttle.begin(login.userid, login.address, device=login.known_device)
    flight = credentials.in_flight[key] = anyio.Event()
    try:
        # The line names its user: verify_htpasswd refuses one that names another.
        valid = await to_thread.run_sync(
            credentials.verify, login.userid, password, line, limiter=deps.password_checks
        )
        if valid and line is not None:
            credentials.remember(login.userid, password, line)
            attempt.succeeded()
        else:
            attempt.failed()
        return valid and line is not None
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
