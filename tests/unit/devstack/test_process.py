"""Child processes: output prefixed line by line, and a stop that leaves nothing behind."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from devstack.output import LogMux
from devstack.process import ProcessFailed, ServiceProcess, consumer_pulling, wait_until

# A child that starts a grandchild in its own process group, prints both pids, then waits.
_FAMILY = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("pids", grandchild.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_output_lines_are_prefixed_with_the_process_name() -> None:
    out = io.StringIO()
    mux = LogMux(out, colour=False)
    child = ServiceProcess("echoer", [sys.executable, "-c", "print('one'); print('two')"], {}, mux)
    child.spawn()
    assert child.proc is not None
    child.proc.wait(30)
    wait_until(lambda: out.getvalue().count("\n") >= 2, 10, "the output")
    assert out.getvalue().splitlines() == ["echoer   | one", "echoer   | two"]


def test_colour_only_when_asked() -> None:
    assert "\x1b[" in LogMux(io.StringIO(), colour=True).prefix("x")
    assert "\x1b[" not in LogMux(io.StringIO(), colour=False).prefix("x")


def test_stop_takes_the_whole_process_group_with_it() -> None:
    out = io.StringIO()
    child = ServiceProcess(
        "family", [sys.executable, "-c", _FAMILY], dict(os.environ), LogMux(out, colour=False)
    )
    child.spawn()
    wait_until(lambda: "pids" in out.getvalue(), 30, "the grandchild")
    grandchild = int(out.getvalue().split("pids", 1)[1].split()[0])
    assert child.pid is not None and _alive(grandchild)

    child.stop(timeout_s=10)

    assert not child.running()
    wait_until(lambda: not _alive(grandchild), 10, "the grandchild's end")


def test_a_child_that_dies_while_starting_fails_fast_with_its_exit_code() -> None:
    child = ServiceProcess(
        "crasher",
        [sys.executable, "-c", "raise SystemExit(3)"],
        {},
        LogMux(io.StringIO(), colour=False),
        ready=lambda: False,
    )
    with pytest.raises(ProcessFailed, match="crasher exited with code 3"):
        child.start(timeout_s=600)  # not a timeout: the death is noticed, not waited out


def _serve_jsz(body: dict[str, object]) -> tuple[ThreadingHTTPServer, str]:
    """A stand-in for NATS monitoring that answers /jsz with `body`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _jsz(durable: str, waiting: int) -> dict[str, object]:
    consumer = {"name": durable, "num_waiting": waiting}
    stream = {"name": "SHOWCASE", "consumer_detail": [consumer]}
    return {"account_details": [{"stream_detail": [stream]}]}


@pytest.mark.parametrize(
    ("body", "ready"),
    [
        (_jsz("admin-alerts", 1), True),
        (_jsz("admin-alerts", 0), False),  # declared (maybe by an earlier run) but nobody pulls
        (_jsz("syncer", 1), False),
        ({}, False),  # JetStream has no account details yet
    ],
)
def test_a_consumer_is_ready_once_its_durable_is_pulling(
    body: dict[str, object], ready: bool
) -> None:
    server, url = _serve_jsz(body)
    try:
        assert consumer_pulling(url, "SHOWCASE", "admin-alerts")() is ready
    finally:
        server.shutdown()
        server.server_close()
