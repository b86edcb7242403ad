"""No progress token in any log line: uvicorn logs every WebSocket's URL, token included."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from showcase_common.logs import REDACTED_LOGGERS, configure_logging
from showcase_common.tokens import issue_token

from tests.integration.progress_gateway.conftest import SECRET, open_socket, receive


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """The service's own logging setup, writing to a buffer; pytest's is put back after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    loggers = [logging.getLogger(n) for n in REDACTED_LOGGERS]
    kept = [(lg.filters[:], lg.handlers[:], lg.propagate, lg.level) for lg in loggers]
    out = io.StringIO()
    configure_logging("progress-gateway", "INFO", json_output=True, stream=out)
    try:
        yield out
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for logger, (filters, handlers, propagate, logger_level) in zip(loggers, kept, strict=True):
            logger.filters[:], logger.handlers[:] = filters, handlers
            logger.propagate, logger.level = propagate, logger_level


async def test_the_gateway_logs_no_token(gateways, service_log: io.StringIO) -> None:
    gateway = await gateways()
    token = issue_token(SECRET, "studio", ["r1"])
    async with open_socket(gateway.ws_url, token) as ws:
        assert (await receive(ws))["request_id"] == "r1"
    async with open_socket(gateway.ws_url, "forged." + token) as ws:  # refused, and logged
        await ws.wait_closed()
    await gateway.stop()
    written = service_log.getvalue()
    assert "/ws/progress?token=[redacted]" in written  # the line is there, without the token
    assert token not in written
    assert token.split(".")[2] not in written  # not even the signature
