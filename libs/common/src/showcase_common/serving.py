"""How every service is served: one uvicorn configuration with the same protective limits.

- `limit_concurrency`: past this many connections or running requests uvicorn answers 503 at
  once instead of queueing work it cannot finish.
- `timeout_keep_alive`: an idle keep-alive connection is closed after this many seconds.
- a header-read timeout: uvicorn (0.54) has none, so a client that opens a connection and
  sends its request line and headers slowly, or never, would hold a connection (and a slot of
  `limit_concurrency`) forever. `_HeaderTimeoutH11` closes it after `header_timeout_s`.
- `h11_max_incomplete_event_size`: the most bytes of request line + headers buffered; above it
  the request is refused (400). This is why the protocol is h11 and not httptools: httptools
  has no such bound.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from showcase_common.settings import HttpLimits

__all__ = ["HttpLimits", "server_config"]


def server_config(
    app: Any, *, host: str, port: int, limits: HttpLimits, **options: Any
) -> uvicorn.Config:
    """A uvicorn configuration for `app` with `limits`; `options` are passed on (lifespan, ws…).

    Logging stays ours (`log_config=None`): one JSON line per record."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        http=_header_timeout_protocol(limits.header_timeout_s),
        limit_concurrency=limits.limit_concurrency,
        timeout_keep_alive=limits.keep_alive_s,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        **options,
    )


def _header_timeout_protocol(timeout_s: float) -> type[H11Protocol]:
    class _HeaderTimeoutH11(H11Protocol):
        """Closes a connection whose request line and headers take longer than `timeout_s`.

        Armed when the connection opens and whenever bytes of a new request arrive; disarmed
        as soon as h11 has the whole head (its peer's state leaves IDLE)."""

        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows BaseProtocol's BaseTransport; we keep its signature
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._arm()
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(timeout_s, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return _HeaderTimeoutH11
