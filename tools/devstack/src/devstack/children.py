"""How each child process of the local run is made: its command line, environment and
readiness check. The stack decides when they run; this module decides what they are."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from showcase_common import subjects

from devstack.config import HOST, OPERATOR, AgentSpec, Secrets, StackConfig
from devstack.output import LogMux
from devstack.process import ProcessFailed, ServiceProcess, consumer_pulling, http_ok, tcp_open

SERVICES: tuple[tuple[str, str, str], ...] = (
    ("intake", "intake", "INTAKE_PORT"),
    ("progress-gateway", "progress_gateway", "GATEWAY_PORT"),
    ("syncer", "syncer", "SYNCER_PORT"),
    ("machine-updater", "machine_updater", "UPDATER_PORT"),
)
"""(process name, python module, port variable) of the pipeline's services, in start order."""

PIPELINE_SECRETS = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "PROGRESS_TOKEN_SECRET",
        "INTAKE_SESSION_SECRET",
        "MACHINE_UPDATE_SECRET",
        "SNAPSHOT_SIGNING_KEY",
        "SNAPSHOT_VERIFY_KEY",
    }
)
"""Never inherited from devstack's own environment: each child gets only its role's."""

NATS_USERS = {
    "intake": "intake",
    "syncer": "syncer",
    "machine-updater": "machine-updater",
    "progress-gateway": "progress-gateway",
    "alerts": "alerts",
    "showcasectl": OPERATOR,
}
"""Each process kind's NATS user (a role of `showcase_common.roles`)."""

ADMIN_EMAIL = "admin@localhost"
"""Where the local run's admin alerts go: the SMTP sink's maildir, like every other mail."""


class Children:
    def __init__(
        self, config: StackConfig, secrets: Secrets, nats_url: Callable[[], str], mux: LogMux
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.nats_url = nats_url  # known once nats-server has started (tests let it pick a port)
        self.mux = mux

    def smtp(self) -> ServiceProcess:
        c = self.config
        args = [sys.executable, "-m", "devstack.smtp_sink", "--port", str(c.smtp_port)]
        args += ["--maildir", str(c.maildir.resolve())]
        return ServiceProcess(
            "smtp", args, self.env({}, role="smtp"), self.mux, ready=tcp_open(HOST, c.smtp_port)
        )

    def seed(self) -> None:
        """`python -m intake seed`: a Rails-shaped index when there is none (an existing one is
        used as it is, so every start runs it). It refuses a database from before the Rails
        index, printing what to do (`make clean-data`); the run then stops."""
        self.config.index_db_path.parent.mkdir(parents=True, exist_ok=True)
        seed = ServiceProcess(
            "seed", [sys.executable, "-m", "intake", "seed"], self.env({}, role="intake"), self.mux
        )
        seed.spawn()
        assert seed.proc is not None
        code = seed.proc.wait(120)
        seed.stop()  # it has exited: this only waits for its last lines to reach the log
        if code != 0:
            raise ProcessFailed(
                f"the index at {self.config.index_db_path} cannot be used "
                f"(seed exit {code}): see the seed's message above"
            )

    def service(self, name: str, module: str, port_var: str) -> ServiceProcess:
        port = self.service_port(name)
        extra = {port_var: str(port), "SERVICE_NAME": name}
        if name in ("machine-updater", "intake"):  # intake: the admin page's machines
            extra["FLEET_FILE"] = str(self.config.fleet_file.resolve())
        return ServiceProcess(
            name,
            [sys.executable, "-m", module],
            self.env(extra, role=name),
            self.mux,
            ready=http_ok(f"http://{HOST}:{port}/healthz"),
        )

    def service_port(self, name: str) -> int:
        c = self.config
        ports = {
            "intake": c.intake_port,
            "progress-gateway": c.gateway_port,
            "syncer": c.syncer_port,
            "machine-updater": c.updater_port,
        }
        return ports[name]

    def alerts(self) -> ServiceProcess:
        """`showcasectl alerts run`: mails admin@localhost (the SMTP sink) when a request fails
        or is stuck, and runs the stuck watch (`STUCK_*` pass through from our environment).

        It serves no HTTP, so it counts as ready once NATS shows its durable pulling; it binds
        to the stream the services create, so the stack starts it after them."""
        extra = {"SERVICE_NAME": "showcasectl-alerts", "ADMIN_EMAIL": ADMIN_EMAIL}
        # In a cluster only the consumer's leader sees the pull requests: ask every node.
        checks = [
            consumer_pulling(monitor, subjects.STREAM, subjects.ADMIN_ALERTS_DURABLE)
            for monitor in self.config.nats_monitor_urls
        ]
        return ServiceProcess(
            "alerts",
            [sys.executable, "-m", "showcasectl", "alerts", "run"],
            self.env(extra, role="alerts"),
            self.mux,
            ready=lambda: any(check() for check in checks),
        )

    def agent(self, agent: AgentSpec) -> ServiceProcess:
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
            self.env(extra, role="machine-agent"),
            self.mux,
            ready=http_ok(f"{agent.url}/healthz"),
        )

    def standin(self, agent: AgentSpec) -> ServiceProcess:
        """A stand-in of a Rails machine as it is (`devstack.standin_machine`): navigator's
        `update_config` CGI and the pages, where the agent would be."""
        args = [sys.executable, "-m", "devstack.standin_machine", "--id", agent.agent_id]
        args += ["--region", agent.region, "--port", str(agent.port)]
        args += ["--data", str(self.config.agent_data_dir(agent).resolve())]
        return ServiceProcess(
            agent.agent_id,
            args,
            self.env({}, role="machine-agent"),
            self.mux,
            ready=http_ok(f"{agent.url}/healthz"),
        )

    def machine(self, agent: AgentSpec) -> ServiceProcess:
        """One of the local run's three machines, of the kind it is asked for."""
        return self.standin(agent) if self.config.machines == "update_config" else self.agent(agent)

    def env(self, extra: Mapping[str, str], role: str) -> dict[str, str]:
        """The environment of a child: ours (without any secret of the pipeline's), the shared
        settings, then the secrets of its `role` only (`Secrets.env_for`)."""
        c, s = self.config, self.secrets
        shared = {
            "PYTHONUNBUFFERED": "1",
            "NATS_REPLICAS": str(c.nats_replicas),
            "S3_ENDPOINT_URL": c.s3_endpoint_url,
            "S3_BUCKET": c.s3_bucket,
            "S3_REGION": "us-east-1",
            "S3_ADDRESSING_STYLE": "path",
            "LOG_LEVEL": c.log_level,
            "LOG_JSON": "true" if c.log_json else "false",
            "INDEX_DB_PATH": str(c.index_db_path.resolve()),
            "SHOWCASES_YML_PATH": str((c.index_db_path.parent / "showcases.yml").resolve()),
            "SHOWCASE_DEV_MODE": "1",
            "PUBLIC_FLEET_URL": c.fleet_url,
            "PUBLIC_GATEWAY_URL": c.gateway_ws_url,
            "PUBLIC_INTAKE_URL": c.intake_url,
            "SMTP_HOST": HOST,
            "SMTP_PORT": str(c.smtp_port),
        }
        ours = {k: v for k, v in os.environ.items() if k not in PIPELINE_SECRETS}
        return {**ours, **shared, **self._nats(role), **s.env_for(role), **extra}

    def _nats(self, role: str) -> dict[str, str]:
        """`NATS_URL` with the role's own NATS user (`showcase_common.roles`); none for a process
        that never uses NATS (the agents, the SMTP sink, the seed)."""
        user = NATS_USERS.get(role)
        if user is None:
            return {}
        credentials = f"{user}:{self.secrets.nats_password(user)}@"
        return {"NATS_URL": self.nats_url().replace("nats://", f"nats://{credentials}")}
