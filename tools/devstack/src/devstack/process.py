"""One child process of the local run: its own process group, its output prefixed, stopped whole.

Each child starts in a new session, so a Ctrl-C on the terminal reaches only the devstack, which
then stops the children itself, in reverse order. Stopping signals the whole process group, so
nothing a child spawned outlives it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from devstack.output import LogMux


class ProcessFailed(RuntimeError):
    """A child exited, or did not become healthy, while the stack was starting."""


def wait_until(
    check: Callable[[], bool],
    timeout_s: float,
    what: str,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Poll `check` until true; fail fast when the process behind it has died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise ProcessFailed(f"{what} exited while starting")
        time.sleep(0.1)
    raise ProcessFailed(f"{what} not ready after {timeout_s:.0f}s")


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness check: `url` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def consumer_pulling(monitor_url: str, stream: str, durable: str) -> Callable[[], bool]:
    """A readiness check for a consumer without HTTP: NATS monitoring (`/jsz`) shows its durable
    with a pull request waiting, i.e. the process has bound to it and is fetching."""

    def check() -> bool:
        try:
            jsz = httpx.get(f"{monitor_url}/jsz?consumers=true", timeout=1.0).json()
        except (httpx.HTTPError, ValueError):
            return False
        return any(
            consumer.get("name") == durable and consumer.get("num_waiting", 0) > 0
            for account in jsz.get("account_details") or []
            for detail in account.get("stream_detail") or []
            if detail.get("name") == stream
            for consumer in detail.get("consumer_detail") or []
        )

    return check


def tcp_open(host: str, port: int) -> Callable[[], bool]:
    """A readiness check: something accepts connections on host:port."""

    def check() -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((host, port)) == 0

    return check


class ServiceProcess:
    """A `python -m pkg`-style child with a fixed command line and environment."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        env: Mapping[str, str],
        mux: LogMux,
        ready: Callable[[], bool] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.env = dict(env)
        self.mux = mux
        self.ready = ready
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        if self.running():
            return
        read_fd, write_fd = os.pipe()
        self._pump = self.mux.follow(self.name, read_fd)
        try:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            os.close(write_fd)  # the child holds its copy; EOF comes when it exits

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        if self.ready is None:
            return
        try:
            wait_until(self.ready, timeout_s, self.name, self.running)
        except ProcessFailed:
            if self.proc is not None and self.proc.poll() is not None:
                code = self.proc.returncode
                raise ProcessFailed(f"{self.name} exited with code {code} while starting") from None
            raise

    def start(self, timeout_s: float = 60.0) -> None:
        self.spawn()
        self.wait_healthy(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM the process group, wait, then SIGKILL whatever is left of it."""
        if self.proc is None:
            return None
        stop_group(self.proc, timeout_s)
        if self._pump is not None:
            self._pump.join(2.0)  # its last lines (the shutdown messages) still get shown
        return self.proc.returncode

    def kill(self) -> None:
        """Stop abruptly (a crash), for failure scenarios."""
        if self.proc is not None:
            stop_group(self.proc, 0.0, first=signal.SIGKILL)


def stop_group(
    proc: subprocess.Popen[bytes], timeout_s: float, first: signal.Signals = signal.SIGTERM
) -> None:
    pgid = proc.pid  # the child leads its own session, so its pid is the group id
    if proc.poll() is None:
        signal_group(pgid, first)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            signal_group(pgid, signal.SIGKILL)
            proc.wait()
    # The leader is gone; anything it left behind in its group goes too.
    signal_group(pgid, signal.SIGKILL)


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
