"""The local run: every server and service of the pipeline as child processes, in order.

`Stack(config).start()` brings up NATS, the S3 store (bucket created), the SMTP sink, seeds the
index, then starts intake, progress-gateway, syncer, machine-updater and the machine agents and
waits for each `/healthz`, then the admin alerter (`showcasectl alerts run`, ready once its
durable is pulling). `stop()` stops them in reverse order. `python -m devstack` and the
`local_stack` test fixture are both thin wrappers around this class.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import TracebackType

from devstack.bucket import stores_objects
from devstack.children import SERVICES, Children
from devstack.components import Component, ServerComponent
from devstack.config import HOST, AgentSpec, Secrets, StackConfig
from devstack.fleet import write_fleet_file
from devstack.output import LogMux
from devstack.process import http_ok, wait_until
from devstack.servers import NatsServer, WeedS3, cluster_nodes
from devstack.summary import summary


class PortInUse(RuntimeError):
    pass


class Stack:
    def __init__(self, config: StackConfig, mux: LogMux | None = None) -> None:
        self.config = config
        self.mux = mux or LogMux()
        self.secrets = Secrets.load_or_create(config.secrets_file)
        self.nats_servers = self._nats_servers(config)
        self.nats = self.nats_servers[0]
        self.s3 = WeedS3(
            config.s3_dir, config.s3_port, identities=self.secrets.s3_identities(config.s3_bucket)
        )
        self.children = Children(config, self.secrets, lambda: self.nats_url, self.mux)
        self._components: dict[str, Component] = {}
        self._started: list[str] = []

    # ---- public surface (what the fixture and the CLI use) -------------------------------
    def _nats_servers(self, config: StackConfig) -> list[NatsServer]:
        """The server (or the cluster's nodes) with every service's user and permissions
        (`showcase_common.roles`); cluster nodes accept only routes with the route password."""
        users = config.data_dir / "nats-users.conf"
        if not config.clustered:
            return [
                NatsServer(
                    config.nats_dir, config.nats_port, config.nats_monitor_port, config=users
                )
            ]
        nodes = config.nats_nodes
        return cluster_nodes(
            config.nats_cluster_dir,
            route_ports=[n.route for n in nodes],
            client_ports=[n.client for n in nodes],
            monitor_ports=[n.monitor for n in nodes],
            route_credentials=("route", self.secrets.nats_route_password),
            config=users,
        )

    def _write_nats_users(self) -> None:
        users = self.config.data_dir / "nats-users.conf"
        users.parent.mkdir(parents=True, exist_ok=True)
        users.touch(mode=0o600)
        users.write_text(self.secrets.nats_users_conf())

    @property
    def nats_url(self) -> str:
        """The NATS URL every service gets: in a cluster, all the nodes' URLs comma-separated."""
        return ",".join(
            server.url or f"nats://{HOST}:{node.client}"
            for server, node in zip(self.nats_servers, self.config.nats_nodes, strict=True)
        )

    @property
    def nats_names(self) -> list[str]:
        """`nats`, or `nats-1` … `nats-N` in a cluster (the names `kill_process` takes)."""
        return self.config.nats_names

    def nats_node_url(self, name: str) -> str:
        """One node's client URL (a test asks a given node)."""
        return self.nats_servers[self.nats_names.index(name)].url

    @property
    def intake_url(self) -> str:
        return self.config.intake_url

    @property
    def gateway_url(self) -> str:
        return self.config.gateway_url

    @property
    def agents(self) -> tuple[AgentSpec, ...]:
        """The machines this run starts (none when FLEET_FILE names an outside fleet)."""
        return self.config.started_machines

    @property
    def agent_urls(self) -> dict[str, str]:
        return {a.agent_id: a.url for a in self.agents}

    def agent_data_dir(self, agent_id: str) -> Path:
        return self.config.agent_data_dir(self._agent(agent_id))

    @property
    def maildir(self) -> Path:
        return self.config.maildir

    @property
    def index_db_path(self) -> Path:
        return self.config.index_db_path

    def names(self) -> list[str]:
        """Every long-running process, in start order."""
        infra = [*self.nats_names, "s3", "smtp"]
        services = [name for name, _, _ in SERVICES]
        return infra + services + [a.agent_id for a in self.agents] + ["alerts"]

    def service_env(self) -> dict[str, str]:
        """The settings an operator's tool runs with (bus, store and its secrets), for tools that
        join the stack."""
        return self.children.env({}, role="showcasectl")

    def pids(self) -> dict[str, int]:
        return {
            name: c.pid for name, c in self._components.items() if c.pid is not None and c.running()
        }

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self, timeout_s: float = 90.0) -> Stack:
        """Start everything; on any failure stop what did start, then raise."""
        try:
            self._start(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process, newest first: the agents, then the services, then SMTP, S3 and
        NATS last (nothing loses its bus while it drains). Within one tier the processes stop
        together, so a tier takes as long as its slowest member, not the sum."""
        for tier in self._tiers(list(reversed(self._started))):
            running = [name for name in tier if self._components[name].running()]
            if running:
                self.mux.line("devstack", f"stopping {', '.join(running)}")
            threads = [
                threading.Thread(target=self._components[name].stop, name=f"stop-{name}")
                for name in tier
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        self._started.clear()

    def _tiers(self, names: list[str]) -> list[list[str]]:
        agents = {a.agent_id for a in self.agents}
        services = {name for name, _, _ in SERVICES}

        def tier(name: str) -> str:
            return "agents" if name in agents else "services" if name in services else name

        grouped: list[list[str]] = []
        for name in names:
            if grouped and tier(grouped[-1][0]) == tier(name):
                grouped[-1].append(name)
            else:
                grouped.append([name])
        return grouped

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- single processes (failure scenarios) -------------------------------------------
    def process(self, name: str) -> Component:
        return self._components[name]

    def stop_process(self, name: str) -> None:
        self._components[name].stop()

    def kill_process(self, name: str) -> None:
        self._components[name].kill()

    def start_process(self, name: str, timeout_s: float = 60.0) -> None:
        self._components[name].start(timeout_s)

    @contextmanager
    def stopped(self, name: str) -> Iterator[None]:
        """Run the block with one process stopped; start it again afterwards."""
        self.stop_process(name)
        try:
            yield
        finally:
            self.start_process(name)

    # ---- start-up, step by step ---------------------------------------------------------
    def _start(self, timeout_s: float) -> None:
        busy = self.config.ports_in_use()
        if busy:
            raise PortInUse(
                f"ports already in use: {', '.join(busy)} (another local run? "
                "stop it, or set these variables to free ports)"
            )
        self._write_nats_users()
        self._start_nats()
        self._run("s3", ServerComponent("s3", self.s3, self.mux, self._s3_usable))
        self._run("smtp", self.children.smtp())
        self.children.seed()
        if self.config.external_fleet_file is None:
            write_fleet_file(self.config.fleet_file, self.agents, self.config.machines)
        apps = [self.children.service(*service) for service in SERVICES]
        apps += [self.children.machine(agent) for agent in self.agents]
        for app in apps:  # spawn all at once: their imports overlap, start-up is much faster
            self._components[app.name] = app
            self._started.append(app.name)
            app.spawn()
        deadline = time.monotonic() + timeout_s
        for app in apps:
            app.wait_healthy(max(1.0, deadline - time.monotonic()))
        # The admin alerter binds to the stream the services have now created.
        self._run("alerts", self.children.alerts(), max(1.0, deadline - time.monotonic()))

    def _run(self, name: str, component: Component, timeout_s: float = 60.0) -> None:
        self._components[name] = component
        self._started.append(name)
        component.start(timeout_s)

    def _s3_usable(self) -> None:
        """The bucket exists and takes writes (after every start: tests restart S3)."""
        endpoint, bucket = self.config.s3_endpoint_url, self.config.s3_bucket
        key, secret = self.secrets.aws_access_key_id, self.secrets.aws_secret_access_key
        alive = self._components["s3"].running
        wait_until(lambda: stores_objects(endpoint, bucket, key, secret), 60.0, "s3", alive)

    def _start_nats(self) -> None:
        """The single server, or every node of the cluster. Each counts as started once
        JetStream is enabled on it; a cluster is ready once every node's full `/healthz`
        answers (JetStream has a meta leader and the node is current with it)."""
        nodes = zip(self.nats_names, self.nats_servers, self.config.nats_monitor_urls, strict=True)
        for name, server, monitor in nodes:
            then = partial(self._nats_healthy, name, f"{monitor}/healthz?js-enabled-only=true")
            self._run(name, ServerComponent(name, server, self.mux, then))
        if self.config.clustered:
            for name, monitor in zip(self.nats_names, self.config.nats_monitor_urls, strict=True):
                self._nats_healthy(name, f"{monitor}/healthz")

    def _nats_healthy(self, name: str, url: str) -> None:
        wait_until(http_ok(url), 60.0, f"{name} (JetStream)", self._components[name].running)

    def _agent(self, agent_id: str) -> AgentSpec:
        for agent in self.agents:
            if agent.agent_id == agent_id:
                return agent
        raise KeyError(agent_id)

    def summary(self) -> str:
        """Every URL and the logins, for the end of start-up."""
        return summary(self.config, self.nats_url)
