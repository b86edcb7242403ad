"""The updater's HTTP transport: one connection pool per machine, not one for the whole fleet.

httpcore's pool, placing a request, looks at every connection it holds (has it expired? a socket
check each), and a roll-out places its calls all at once: with one pool for a 32-machine fleet
that is ~1,000 checks per roll-out on the updater's one event loop, while the calls are going out
and the answers coming in. A pool per origin (scheme, host, port: one machine agent, or the Fly
API) checks only that machine's one or two connections. The pools share one TLS context (making
one costs ~30 ms of CPU).
"""

from __future__ import annotations

import ssl

import httpx

Origin = tuple[bytes, bytes, int | None]


class PerOriginTransport(httpx.AsyncBaseTransport):
    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._tls: ssl.SSLContext | None = None
        self._pools: dict[Origin, httpx.AsyncHTTPTransport] = {}

    @property
    def limits(self) -> httpx.Limits:
        """Each pool's limits."""
        return self._limits

    @property
    def origins(self) -> int:
        """How many pools it holds (one per origin called)."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(origin)
        if pool is None:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            pool = httpx.AsyncHTTPTransport(verify=self._tls, limits=self._limits)
            self._pools[origin] = pool
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
