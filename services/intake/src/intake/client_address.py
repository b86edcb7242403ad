"""The client's address (and scheme) as the login throttle must see it.

Behind a reverse proxy every connection comes from the proxy, so a throttle keyed on the peer
would throttle everyone together. But a header is only believable from a proxy that sets it:

- on Fly (`INTAKE_FLY_PROXY=true`), `Fly-Client-IP` and `X-Forwarded-Proto`, which Fly's proxy
  sets on every request it forwards (intake is reached only through it);
- from a peer in `INTAKE_TRUSTED_PROXIES` (comma-separated CIDR ranges), `X-Forwarded-For` read
  from the right, skipping the trusted proxies' own addresses, and `X-Forwarded-Proto`;
- from anyone else, the peer's own address: a client cannot choose its address by a header.

`ClientAddressMiddleware` writes the result into the ASGI scope (`client`, `scheme`), so every
reader (the throttle, logs, `url_for`) sees the same. uvicorn's own proxy-header handling is off
(it trusts 127.0.0.1 by default).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from showcase_common.http_limits import header
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(ranges: str) -> list[Network]:
    """`10.0.0.0/8, fdaa::/16` → networks; raises ValueError naming a bad range."""
    return [ipaddress.ip_network(r.strip(), strict=False) for r in ranges.split(",") if r.strip()]


@functools.lru_cache(maxsize=4096)
def _ip(text: str | None) -> str | None:
    """`text` as an address in its canonical form, or None (parsed once per distinct text:
    a busy client's every request carries the same)."""
    try:
        return str(ipaddress.ip_address((text or "").strip()))
    except ValueError:
        return None


def _within(address: str | None, networks: Sequence[Network]) -> bool:
    if address is None or not networks:  # no proxy trusted: nothing to parse
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


def client_of(scope: Scope, *, fly: bool, trusted: Sequence[Network]) -> tuple[str | None, bool]:
    """(the client's address, whether a proxy we believe forwarded the request)."""
    peer = _ip(scope["client"][0]) if scope.get("client") else None
    if fly:
        return _ip(header(scope, b"fly-client-ip")) or peer, True
    if not _within(peer, trusted):
        return peer, False
    hops = [_ip(hop) for hop in _all_values(scope, b"x-forwarded-for").split(",")]
    for hop in reversed(hops):
        if hop is None:
            break  # garbage in the chain: nothing left of it is believable
        if not _within(hop, trusted):
            return hop, True
    return peer, True


def _all_values(scope: Scope, name: bytes) -> str:
    """Every value of a header, joined as one list (a proxy may add a line of its own)."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    return ",".join(value.decode("latin-1") for key, value in headers if key == name)


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, *, fly: bool, trusted: Sequence[Network]) -> None:
        self.app = app
        self.fly = fly
        self.trusted = list(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            address, proxied = client_of(scope, fly=self.fly, trusted=self.trusted)
            scope = dict(scope)
            scope["client"] = (address or "unknown", 0)
            proto = header(scope, b"x-forwarded-proto") if proxied else None
            if proto in ("http", "https"):
                scope["scheme"] = proto
        await self.app(scope, receive, send)
