"""HTTP/1.1 over a plain socket, for what an HTTP client library will not do: send a request's
head and wait for the answer before sending (or without ever sending) its body."""

from __future__ import annotations

import socket

import h11


def answer_to_head(
    host: str, port: int, method: str, target: str, headers: dict[str, str]
) -> h11.Response:
    """Send only the request line and headers, never the body; the server's response."""
    conn = h11.Connection(h11.CLIENT)
    request = h11.Request(
        method=method, target=target, headers=[("Host", f"{host}:{port}"), *headers.items()]
    )
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(conn.send(request))
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(65536)
                conn.receive_data(data)
                if not data:
                    raise ConnectionError("the server closed the connection without answering")
                continue
            if isinstance(event, h11.Response):
                return event


def closed_without_a_request(host: str, port: int) -> bool:
    """Open a connection, send nothing; True once the server closes it (False: it never does
    within the socket's generous timeout)."""
    with socket.create_connection((host, port), timeout=60) as sock:
        try:
            return sock.recv(1) == b""
        except TimeoutError:
            return False


def raw_get(host: str, port: int, target: str) -> int:
    """GET `target` exactly as written (dot segments and escapes untouched, as an HTTP client
    library would not send them); the answer's status."""
    head = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(head.encode("latin-1"))
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])
