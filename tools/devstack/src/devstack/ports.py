"""Free loopback ports."""

from __future__ import annotations

import socket


def is_free(port: int, host: str = "127.0.0.1", reuse_addr: bool = False) -> bool:
    """Nothing is bound to `port`. With `reuse_addr`, as a server would see it: connections
    of a just-stopped server lingering in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if reuse_addr:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_port_with_grpc(offset: int = 10000) -> int:
    """A free port P whose companion P + offset is free too (SeaweedFS's gRPC convention)."""
    for _ in range(200):
        port = free_port()
        if port + offset < 65536 and is_free(port + offset):
            return port
    raise RuntimeError("no free port pair found")
