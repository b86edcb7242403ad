"""Intake against real parts: a SQLite file, a real nats-server, a real SMTP sink."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from devstack.ports import free_port
from fastapi import FastAPI
from intake.bootstrap import ports
from intake.config import IntakeSettings
from intake.seed import seed

from tests.unit.intake.conftest import in_process, make_settings


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps every message it receives."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def real_settings(tmp_path: Path, nats_url: str, **overrides: object) -> IntakeSettings:
    return make_settings(
        tmp_path, nats_url=nats_url, outbox_poll_s=0.5, nats_retry_s=0.2, **overrides
    )


@pytest.fixture
async def running_app(tmp_path: Path, nats_url: str) -> AsyncIterator[FastAPI]:
    """The app as `python -m intake` builds it (NATS, relay running), lifespan entered."""
    settings = real_settings(tmp_path, nats_url)
    seed(settings.index_db_path)
    app = in_process(settings, ports(settings), background=True)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(running_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=running_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
        yield client


class UvicornThread:
    """The app served over real HTTP by uvicorn, in a thread with its own event loop."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
