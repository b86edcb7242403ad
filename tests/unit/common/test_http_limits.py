"""BodyLimitMiddleware, driven as a plain ASGI callable.

The receive channel records every read, so "refused before reading" is checked directly.
"""

from __future__ import annotations

from showcase_common.http_limits import BodyLimitMiddleware

from tests.support.asgi import Channel, EchoApp, http_scope


async def test_a_content_length_over_the_cap_is_refused_before_reading() -> None:
    app, refused = EchoApp(), []
    limit = BodyLimitMiddleware(app, max_bytes=10, on_refused=lambda: refused.append(1))
    channel = Channel([b"x" * 64])
    await limit(
        http_scope(headers={"content-length": str(64 * 2**20)}), channel.receive, channel.send
    )
    assert channel.status == 413
    assert channel.reads == 0 and not app.called and refused == [1]
    assert (b"connection", b"close") in channel.sent[0]["headers"]


async def test_a_malformed_content_length_is_refused() -> None:
    channel = Channel([b"x"])
    limit = BodyLimitMiddleware(EchoApp(), max_bytes=10)
    await limit(http_scope(headers={"content-length": "-1"}), channel.receive, channel.send)
    assert channel.status == 413 and channel.reads == 0


async def test_a_streamed_body_is_cut_off_at_the_read_that_passes_the_cap() -> None:
    refused: list[int] = []
    limit = BodyLimitMiddleware(EchoApp(), max_bytes=10, on_refused=lambda: refused.append(1))
    channel = Channel([b"x" * 6, b"x" * 6, b"x" * 6, b"x" * 6])  # chunked: no Content-Length
    await limit(http_scope(), channel.receive, channel.send)
    assert channel.status == 413
    assert channel.reads == 2  # the rest is never read
    assert refused == [1]


async def test_a_body_under_the_cap_passes() -> None:
    channel = Channel([b"x" * 6, b"x" * 4])
    limit = BodyLimitMiddleware(EchoApp(), max_bytes=10)
    await limit(http_scope(headers={"content-length": "10"}), channel.receive, channel.send)
    assert channel.status == 200 and channel.sent[1]["body"] == b'{"length":10}'


async def test_each_path_has_its_own_cap() -> None:
    limit = BodyLimitMiddleware(EchoApp(), max_bytes=0, per_path={"/upload": 100})
    small, elsewhere = Channel([b"x" * 50]), Channel([b"x" * 50])
    await limit(http_scope("/upload", {"content-length": "50"}), small.receive, small.send)
    await limit(http_scope("/other", {"content-length": "50"}), elsewhere.receive, elsewhere.send)
    assert small.status == 200 and elsewhere.status == 413
