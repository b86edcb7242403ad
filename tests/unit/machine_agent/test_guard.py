"""The update endpoint's secret is checked before its body is read (machine_agent.guard)."""

from __future__ import annotations

from machine_agent.guard import SecretFirstMiddleware

from tests.support.asgi import Channel, EchoApp, http_scope


async def test_the_agent_refuses_a_missing_secret_before_reading_the_body() -> None:
    app = EchoApp()
    guard = SecretFirstMiddleware(app, secret="s3cret-s3cret")
    for given in (None, "Bearer nope", "Basic s3cret-s3cret", "Bearer "):
        channel = Channel([b"x" * 1024])
        headers = {"content-length": "1024"} | ({"authorization": given} if given else {})
        await guard(http_scope("/showcase/update_config", headers), channel.receive, channel.send)
        assert channel.status == 401, given
        assert channel.reads == 0 and not app.called


async def test_the_agent_lets_the_right_secret_through_and_guards_only_its_path() -> None:
    app = EchoApp()
    guard = SecretFirstMiddleware(app, secret="s3cret-s3cret")
    channel = Channel([b"{}"])
    headers = {"authorization": "Bearer s3cret-s3cret"}
    await guard(http_scope("/showcase/update_config", headers), channel.receive, channel.send)
    other = Channel([b""])
    await guard(http_scope("/showcase/status"), other.receive, other.send)
    assert channel.status == 200 and other.status == 200


async def test_an_agent_without_a_secret_refuses_every_update() -> None:
    channel = Channel([b"{}"])
    guard = SecretFirstMiddleware(EchoApp(), secret=None)
    headers = {"authorization": "Bearer "}
    await guard(http_scope("/showcase/update_config", headers), channel.receive, channel.send)
    assert channel.status == 401 and channel.reads == 0
