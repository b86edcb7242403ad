"""The one interface the stack drives its children through, and an adapter for the two servers."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Protocol

from devstack.output import LogMux
from devstack.process import signal_group
from devstack.servers import NatsServer, WeedS3


class Component(Protocol):
    name: str

    @property
    def pid(self) -> int | None: ...

    def running(self) -> bool: ...

    def start(self, timeout_s: float = 60.0) -> None: ...

    def stop(self, timeout_s: float = 10.0) -> int | None: ...

    def kill(self) -> None: ...


class ServerComponent:
    """NatsServer / WeedS3 (tests/support uses them as they are) with prefixed output."""

    def __init__(
        self,
        name: str,
        server: NatsServer | WeedS3,
        mux: LogMux,
        then: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.server = server
        self.mux = mux
        self.then = then  # an extra readiness wait after the server's own
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.server.proc.pid if self.server.proc else None

    def running(self) -> bool:
        return self.server.proc is not None and self.server.proc.poll() is None

    def start(self, timeout_s: float = 60.0) -> None:
        if self.running():
            return
        read_fd, write_fd = os.pipe()
        self._pump = self.mux.follow(self.name, read_fd)
        try:
            self.server.start(log=write_fd, timeout_s=timeout_s)
        finally:
            os.close(write_fd)
        if self.then is not None:
            self.then()

    def stop(self, timeout_s: float = 10.0) -> int | None:
        proc = self.server.proc
        self.server.stop(timeout_s)
        if proc is None:
            return None
        signal_group(proc.pid, signal.SIGKILL)  # nothing of its group outlives it
        if self._pump is not None:
            self._pump.join(2.0)
        return proc.returncode

    def kill(self) -> None:
        self.server.kill()
