"""The local run: every server and service of the pipeline as child processes, in order.

`Stack(config).start()` brings up NATS, the S3 store (bucket created), the SMTP sink, seeds the
index, then starts intake, progress-gateway, syncer, machine-updater and the machine agents and
waits for each `/healthz`. `stop()` stops them in reverse order. `python -m devstack` and the
`local_stack` test fixture are both thin wrappers around this class.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from devstack.bucket import ensure_bucket
from devstack.components import Component, ServerComponent
from devstack.config import HOST, AgentSpec, Secrets, StackConfig
from devstack.fleet import write_fleet_file
from devstack.output import LogMux
from devstack.ports import is_free
from devstack.process import ProcessFailed, ServiceProcess, http_ok, tcp_open, wait_until
from devstack.servers import NatsServer, WeedS3

SERVICES: tuple[tuple[str, str], ...] = (
    ("intake", "intake"),
    ("progress-gateway", "progress_gateway"),
    ("syncer", "syncer"),
    ("machine-updater", "machine_updater"),
)
"""(process name, python module) of the pipeline's services, in start order."""


class PortInUse(RuntimeError):
    pass


class Stack:
    def __init__(self, config: StackConfig, mux: LogMux | None = None) -> None:
        self.config = config
        self.mux = mux or LogMux()
        self.secrets = Secrets.load_or_create(config.secrets_file)
        self.nats = NatsServer(config.nats_dir, config.nats_port, config.nats_monitor_port)
        self.s3 = WeedS3(config.s3_dir, config.s3_port)
        self._components: dict[str, Component] = {}
        self._started: list[str] = []

    # ---- public surface (what the fixture and the CLI use) -------------------------------
    @property
    def nats_url(self) -> str:
        return self.nats.url or f"nats://{HOST}:{self.config.nats_port}"

    @property
    def intake_url(self) -> str:
        return self.config.intake_url

    @property
    def gateway_url(self) -> str:
        return self.config.gateway_url

    @property
    def agents(self) -> tuple[AgentSpec, ...]:
        return self.config.agents

    @property
    def agent_urls(self) -> dict[str, str]:
        return {a.agent_id: a.url for a in self.config.agents}

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
        infra = ["nats", "s3", "smtp"]
        return infra + [name for name, _ in SERVICES] + [a.agent_id for a in self.agents]

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
        services = {name for name, _ in SERVICES}

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
        self._check_ports()
        self._run("nats", ServerComponent("nats", self.nats, self.mux, self._nats_healthy))
        self._run("s3", ServerComponent("s3", self.s3, self.mux))
        ensure_bucket(
            self.config.s3_endpoint_url,
            self.config.s3_bucket,
            self.secrets.aws_access_key_id,
            self.secrets.aws_secret_access_key,
        )
        self._run("smtp", self._smtp())
        self._seed()
        write_fleet_file(self.config.fleet_file, self.agents)
        apps = [self._service(name, module) for name, module in SERVICES]
        apps += [self._agent_process(agent) for agent in self.agents]
        for app in apps:  # spawn all at once: their imports overlap, start-up is much faster
            self._components[app.name] = app
            self._started.append(app.name)
            app.spawn()
        deadline = time.monotonic() + timeout_s
        for app in apps:
            app.wait_healthy(max(1.0, deadline - time.monotonic()))

    def _run(self, name: str, component: Component) -> None:
        self._components[name] = component
        self._started.append(name)
        component.start(60.0)

    def _check_ports(self) -> None:
        c = self.config
        wanted = {
            "INTAKE_PORT": c.intake_port,
            "GATEWAY_PORT": c.gateway_port,
            "SYNCER_PORT": c.syncer_port,
            "UPDATER_PORT": c.updater_port,
            "NATS_PORT": c.nats_port,
            "NATS_MONITOR_PORT": c.nats_monitor_port,
            "S3_PORT": c.s3_port,
            "SMTP_PORT": c.smtp_port,
        } | {f"AGENT_PORTS ({a.agent_id})": a.port for a in c.agents}
        busy = [
            f"{var}={port}"
            for var, port in wanted.items()
            if port and not is_free(port, reuse_addr=True)
        ]
        if busy:
            raise PortInUse(
                "ports already in use: " + ", ".join(busy) + " (another local run? "
                "stop it, or set these variables to free ports)"
            )

    def _nats_healthy(self) -> None:
        url = f"http://{HOST}:{self.config.nats_monitor_port}/healthz?js-enabled-only=true"
        alive = self._components["nats"].running
        wait_until(http_ok(url), 30.0, "nats (JetStream)", alive)

    def _smtp(self) -> ServiceProcess:
        args = [sys.executable, "-m", "devstack.smtp_sink", "--port", str(self.config.smtp_port)]
        args += ["--maildir", str(self.config.maildir.resolve())]
        return ServiceProcess(
            "smtp", args, self._env({}), self.mux, ready=tcp_open(HOST, self.config.smtp_port)
        )

    def _seed(self) -> None:
        """`python -m intake seed`: users, locations (idempotent, so every start runs it)."""
        self.config.index_db_path.parent.mkdir(parents=True, exist_ok=True)
        seed = ServiceProcess(
            "seed", [sys.executable, "-m", "intake", "seed"], self._env({}), self.mux
        )
        seed.spawn()
        assert seed.proc is not None
        if seed.proc.wait(120) != 0:
            raise ProcessFailed(f"seeding the index failed (exit {seed.proc.returncode})")

    def _service(self, name: str, module: str) -> ServiceProcess:
        port_var = {
            "intake": ("INTAKE_PORT", self.config.intake_port),
            "progress-gateway": ("GATEWAY_PORT", self.config.gateway_port),
            "syncer": ("SYNCER_PORT", self.config.syncer_port),
            "machine-updater": ("UPDATER_PORT", self.config.updater_port),
        }[name]
        extra = {port_var[0]: str(port_var[1]), "SERVICE_NAME": name}
        if name == "machine-updater":
            extra["FLEET_FILE"] = str(self.config.fleet_file.resolve())
        return ServiceProcess(
            name,
            [sys.executable, "-m", module],
            self._env(extra),
            self.mux,
            ready=http_ok(f"http://{HOST}:{port_var[1]}/healthz"),
        )

    def _agent_process(self, agent: AgentSpec) -> ServiceProcess:
        extra = {
            "SERVICE_NAME": f"machine-agent-{agent.agent_id}",
            "AGENT_ID": agent.agent_id,
            "AGENT_REGION": agent.region,
            "AGENT_PORT": str(agent.port),
            "AGENT_DATA_DIR": str(self.config.agent_data_dir(agent).resolve()),
        }
        return ServiceProcess(
            agent.agent_id,
            [sys.executable, "-m", "machine_agent"],
            self._env(extra),
            self.mux,
            ready=http_ok(f"{agent.url}/healthz"),
        )

    def _env(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The environment of every child: ours, then the pipeline's shared settings."""
        c, s = self.config, self.secrets
        shared = {
            "PYTHONUNBUFFERED": "1",
            "NATS_URL": self.nats_url,
            "S3_ENDPOINT_URL": c.s3_endpoint_url,
            "S3_BUCKET": c.s3_bucket,
            "S3_REGION": "us-east-1",
            "S3_ADDRESSING_STYLE": "path",
            "AWS_ACCESS_KEY_ID": s.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": s.aws_secret_access_key,
            "LOG_LEVEL": c.log_level,
            "LOG_JSON": "true" if c.log_json else "false",
            "INDEX_DB_PATH": str(c.index_db_path.resolve()),
            "SHOWCASES_YML_PATH": str((c.index_db_path.parent / "showcases.yml").resolve()),
            "PROGRESS_TOKEN_SECRET": s.progress_token_secret,
            "MACHINE_UPDATE_SECRET": s.machine_update_secret,
            "PUBLIC_FLEET_URL": c.fleet_url,
            "PUBLIC_GATEWAY_URL": c.gateway_ws_url,
            "PUBLIC_INTAKE_URL": c.intake_url,
            "SMTP_HOST": HOST,
            "SMTP_PORT": str(c.smtp_port),
        }
        return {**os.environ, **shared, **extra}

    def _agent(self, agent_id: str) -> AgentSpec:
        for agent in self.agents:
            if agent.agent_id == agent_id:
                return agent
        raise KeyError(agent_id)

    # ---- what the user sees at the end of start-up --------------------------------------
    def summary(self) -> str:
        c = self.config
        lines = [
            "",
            "Showcase pipeline is up:",
            f"  form (intake)      {c.intake_url}/showcases/new",
            f"  JSON API           {c.intake_url}/api/showcases",
            f"  progress gateway   {c.gateway_ws_url}/ws/progress",
        ]
        lines += [
            f"  {'agent ' + a.agent_id + ' (' + a.region + ')':<19}{a.url}/showcase/status"
            for a in self.agents
        ]
        lines += [
            f"  NATS               {self.nats_url} (monitoring http://{HOST}:{c.nats_monitor_port})",
            f"  S3                 {c.s3_endpoint_url} (bucket {c.s3_bucket})",
            f"  SMTP sink          {HOST}:{c.smtp_port} → {c.maildir}/new/",
            f"  data               {c.data_dir.resolve()}",
            "Logins: admin/admin (admin), studio/studio (studio). Ctrl-C stops everything.",
            "",
        ]
        return "\n".join(lines)
