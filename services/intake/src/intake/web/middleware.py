"""ASGI middleware: request ids (X-Request-ID in and out, in every log line) and request
metrics. The body limit is the shared `showcase_common.http_limits.BodyLimitMiddleware`."""

from __future__ import annotations

import logging
import re
import time

from showcase_common.events import new_id
from showcase_common.http_limits import header
from showcase_common.logs import request_context
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intake import metrics

log = logging.getLogger("intake.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else new_id()
        status_code = 500
        mount = metrics.mount_prefix(scope)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with request_context(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = metrics.route_template(scope, mount)
                metrics.HTTP_SECONDS.labels(route, metrics.status_class(status_code)).observe(
                    elapsed
                )
                log.info(
                    "%s %s %d %.1fms", scope["method"], scope["path"], status_code, elapsed * 1000
                )
