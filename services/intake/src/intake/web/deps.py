"""Annotated dependencies, so routes read cleanly and tests can override them."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from showcase_common.index.models import User
from sqlmodel import select

from intake import metrics
from intake.container import Container

_basic = HTTPBasic(realm="showcases", auto_error=False)
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="showcases"'}


def get_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]  # app.state is untyped; bootstrap sets it


ContainerDep = Annotated[Container, Depends(get_container)]


def _find_user(container: Container, userid: str) -> User | None:
    with container.db.session() as session:
        return session.exec(select(User).where(User.userid == userid)).first()


async def current_user(
    http: Request,
    container: ContainerDep,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> User:
    """The authenticated user, found by `userid` and verified against the htpasswd line in
    `users.password`; 401 with a Basic challenge otherwise.

    The lookup holds a connection only while it runs (a reader thread), and the password check
    holds none: nothing a request keeps while it later waits to write.
    """
    if credentials is None:
        metrics.REFUSALS.labels("unauthenticated").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required", _CHALLENGE)
    userid = credentials.username[:64]
    _refuse_if_throttled(container.throttle.login_retry_after(userid))
    user = await container.db.read(_find_user, container, userid)
    line = user.password if user is not None else None
    # A login verified moments ago against this same line is answered here, in the loop (no
    # thread, no hash: intake.credential_cache); anything else is verified in a worker thread.
    # The line names its user: verify_htpasswd refuses one that names another (constant time).
    valid = container.credentials.cached(userid, credentials.password, line) or (
        await to_thread.run_sync(
            container.credentials.check,
            userid,
            credentials.password,
            line,
            limiter=container.password_checks,
        )
    )
    if user is None or not valid:
        address = http.client.host if http.client else "unknown"
        _refuse_if_throttled(container.throttle.failed(userid, address))
        metrics.REFUSALS.labels("bad_credentials").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid credentials", _CHALLENGE)
    return user


def _refuse_if_throttled(retry_after_s: int | None) -> None:
    if retry_after_s is not None:
        metrics.REFUSALS.labels("throttled").inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins: wait before trying again",
            {"Retry-After": str(retry_after_s)},
        )


CurrentUser = Annotated[User, Depends(current_user)]
