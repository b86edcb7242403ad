"""What the local run is made of: ports, data directory and secrets.

Defaults are the contract's ports; each is overridable by the environment variable of the same
name that the services themselves read (INTAKE_PORT, GATEWAY_PORT, ...). Tests build a config
on free ports and a temporary directory with `StackConfig.on_free_ports`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml
from showcase_common.roles import ROLES, users_conf
from showcase_common.signing import generate_key_pair

from devstack.ports import free_port, free_port_with_grpc, is_free

HOST = "127.0.0.1"
OPERATOR = "showcasectl"
"""The NATS user of the operators' tool (and of anyone connecting without credentials)."""

MachineKind = Literal["agent", "update_config"]
MACHINE_KINDS: tuple[str, ...] = ("agent", "update_config")


def machine_kind(value: str) -> MachineKind:
    if value not in MACHINE_KINDS:
        raise ValueError(f"machines must be one of {', '.join(MACHINE_KINDS)}, not {value!r}")
    return value  # type: ignore[return-value]  # checked against the Literal's values above


def _first_machine_url(path: Path) -> str:
    """The first machine's URL in a fleet file (where the local run's redirects land)."""
    try:
        machines = (yaml.safe_load(path.read_text()) or {}).get("machines") or []
        return str(machines[0]["url"]).rstrip("/")
    except (OSError, yaml.YAMLError, AttributeError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(f"FLEET_FILE {path}: no machine with a url in it ({exc})") from exc


@dataclass(frozen=True)
class AgentSpec:
    """One local machine agent: the id and region the fleet file names it by."""

    agent_id: str
    region: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


AGENT_IDS_REGIONS: tuple[tuple[str, str], ...] = (
    ("local-1", "iad"),
    ("local-2", "ord"),
    ("local-3", "sjc"),
)


def _agents(ports: list[int]) -> tuple[AgentSpec, ...]:
    if len(ports) != len(AGENT_IDS_REGIONS):
        raise ValueError(f"need {len(AGENT_IDS_REGIONS)} agent ports, got {ports}")
    return tuple(
        AgentSpec(agent_id, region, port)
        for (agent_id, region), port in zip(AGENT_IDS_REGIONS, ports, strict=True)
    )


@dataclass(frozen=True)
class NatsNodePorts:
    """One nats-server's ports: clients (None: it picks one), monitoring, cluster routes."""

    client: int | None
    monitor: int
    route: int


@dataclass(frozen=True)
class Secrets:
    """Generated once per data directory and kept there, so a restart keeps tokens valid.

    A file from before a secret existed gets it added (and is rewritten), never regenerated."""

    progress_token_secret: str
    machine_update_secret: str
    aws_access_key_id: str
    """The read-write S3 key (the syncer's, and the operator's tool)."""
    aws_secret_access_key: str
    intake_session_secret: str
    agent_aws_access_key_id: str
    """The agents' read-only S3 key (`S3Identities`)."""
    agent_aws_secret_access_key: str
    snapshot_signing_key: str
    """The syncer's Ed25519 key; agents get its public half, `snapshot_verify_key`."""
    snapshot_verify_key: str
    nats_secret: str
    """Each NATS user's password is derived from it (`nats_password`), so a role added to
    `showcase_common.roles` later gets one without a new entry here."""
    nats_route_password: str
    """What a nats-server must present to join the local cluster as a route."""

    @classmethod
    def generate(cls) -> dict[str, str]:
        signing_key, verify_key = generate_key_pair()
        return {
            "progress_token_secret": secrets.token_urlsafe(32),
            "machine_update_secret": secrets.token_urlsafe(32),
            "aws_access_key_id": "devstack",
            "aws_secret_access_key": secrets.token_urlsafe(24),
            "intake_session_secret": secrets.token_urlsafe(32),
            "agent_aws_access_key_id": "devstack-agent",
            "agent_aws_secret_access_key": secrets.token_urlsafe(24),
            "snapshot_signing_key": signing_key,
            "snapshot_verify_key": verify_key,
            "nats_secret": secrets.token_urlsafe(32),
            "nats_route_password": secrets.token_urlsafe(24),
        }

    def nats_password(self, user: str) -> str:
        """The local run's password of NATS user `user` (a role of `showcase_common.roles`)."""
        digest = hmac.new(self.nats_secret.encode(), user.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def nats_users_conf(self) -> str:
        """nats-server's users, each with its role's permissions. A client without credentials
        (a person's `showcasectl`, a test) is the operator, as on a developer's own machine;
        every service of the run logs in as itself."""
        passwords = {r.user: self.nats_password(r.user) for r in ROLES}
        return users_conf(passwords) + f'no_auth_user: "{OPERATOR}"\n'

    def s3_identities(self, bucket: str) -> dict[str, object]:
        """`weed mini -s3.config`: the syncer's key reads and writes, the agents' only reads."""
        return s3_identities(
            bucket,
            writer=(self.aws_access_key_id, self.aws_secret_access_key),
            reader=(self.agent_aws_access_key_id, self.agent_aws_secret_access_key),
        )

    def env_for(self, role: str) -> dict[str, str]:
        """The secrets one kind of process gets, and no others (docs/SECURITY.md)."""
        read_write = {
            "AWS_ACCESS_KEY_ID": self.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.aws_secret_access_key,
        }
        by_role: dict[str, dict[str, str]] = {
            "intake": {
                "PROGRESS_TOKEN_SECRET": self.progress_token_secret,
                "INTAKE_SESSION_SECRET": self.intake_session_secret,
            },
            "progress-gateway": {"PROGRESS_TOKEN_SECRET": self.progress_token_secret},
            "syncer": read_write | {"SNAPSHOT_SIGNING_KEY": self.snapshot_signing_key},
            "machine-updater": {
                "MACHINE_UPDATE_SECRET": self.machine_update_secret,
                # for `update_config` machines it downloads snapshots itself: read-only, verified
                "AWS_ACCESS_KEY_ID": self.agent_aws_access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.agent_aws_secret_access_key,
                "SNAPSHOT_VERIFY_KEY": self.snapshot_verify_key,
            },
            "machine-agent": {
                "MACHINE_UPDATE_SECRET": self.machine_update_secret,
                "AWS_ACCESS_KEY_ID": self.agent_aws_access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.agent_aws_secret_access_key,
                "SNAPSHOT_VERIFY_KEY": self.snapshot_verify_key,
            },
            "showcasectl": read_write | {"SNAPSHOT_VERIFY_KEY": self.snapshot_verify_key},
        }
        return by_role.get(role, {})

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        kept = json.loads(path.read_text()) if path.exists() else {}
        values = cls.generate() | {k: v for k, v in kept.items() if k in cls.__dataclass_fields__}
        loaded = cls(**values)
        if values != kept:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(loaded.__dict__, indent=2))
            path.chmod(0o600)
        return loaded


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path = Path(".data")
    intake_port: int = 8000
    gateway_port: int = 8001
    syncer_port: int = 8002
    updater_port: int = 8003
    nats_port: int | None = 4222  # None: nats-server picks a free port (tests)
    nats_monitor_port: int = 8222
    nats_cluster: int = 1  # NATS_CLUSTER=3: three clustered nats-servers, streams at 3 replicas
    nats_route_port: int = 6222  # the first node's cluster port; the others +1, +2
    nats_node_ports: tuple[NatsNodePorts, ...] = ()  # explicit per-node ports (tests)
    s3_port: int = 9000
    smtp_port: int = 1025
    agents: tuple[AgentSpec, ...] = field(default_factory=lambda: _agents([8101, 8102, 8103]))
    machines: MachineKind = "agent"
    """What the three local machines are: machine agents (`agent`), or stand-ins of the Rails
    machines as they are, updated through their `update_config` CGI (`update_config`,
    `devstack.standin_machine`)."""
    external_fleet_file: Path | None = None
    """`FLEET_FILE` when set: the updater's fleet is that file's machines (stand-ins or real
    ones), which the local run does not start."""
    s3_bucket: str = "showcase-index"
    log_json: bool = False  # people read the local run; tests may want JSON
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> StackConfig:
        """Defaults, overridden by the environment, overridden by explicit arguments."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, var in _PORT_VARS.items():
            if env.get(var):
                values[name] = int(env[var])
        if env.get("DEVSTACK_DATA_DIR"):
            values["data_dir"] = Path(env["DEVSTACK_DATA_DIR"])
        if env.get("NATS_CLUSTER"):
            values["nats_cluster"] = int(env["NATS_CLUSTER"])
        if env.get("NATS_ROUTE_PORT"):
            values["nats_route_port"] = int(env["NATS_ROUTE_PORT"])
        if env.get("FLEET_FILE"):
            values["external_fleet_file"] = Path(env["FLEET_FILE"])
        if env.get("DEVSTACK_MACHINES"):
            values["machines"] = machine_kind(env["DEVSTACK_MACHINES"])
        if env.get("S3_BUCKET"):
            values["s3_bucket"] = env["S3_BUCKET"]
        if env.get("LOG_LEVEL"):
            values["log_level"] = env["LOG_LEVEL"]
        if env.get("LOG_JSON"):
            values["log_json"] = env["LOG_JSON"].lower() in {"1", "true", "yes"}
        agent_ports = _agent_ports(env)
        if agent_ports:
            values["agents"] = _agents(agent_ports)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]  # values: per-field types, from the env

    @classmethod
    def on_free_ports(cls, data_dir: Path, **overrides: object) -> StackConfig:
        """Every port free right now (tests); NATS picks its own, race-free."""
        config = cls(
            data_dir=data_dir,
            intake_port=free_port(),
            gateway_port=free_port(),
            syncer_port=free_port(),
            updater_port=free_port(),
            nats_port=None,
            nats_monitor_port=free_port(),
            s3_port=free_port_with_grpc(),
            smtp_port=free_port(),
            agents=_agents([free_port() for _ in AGENT_IDS_REGIONS]),
        )
        config = replace(config, **overrides)  # type: ignore[arg-type]  # overrides: the caller's fields
        if config.nats_cluster > 1 and not config.nats_node_ports:
            nodes = [
                NatsNodePorts(None, free_port(), free_port()) for _ in range(config.nats_cluster)
            ]
            config = replace(config, nats_node_ports=tuple(nodes))
        return config

    @property
    def clustered(self) -> bool:
        return self.nats_cluster > 1

    @property
    def nats_nodes(self) -> tuple[NatsNodePorts, ...]:
        """Each nats-server's ports: explicit ones, else consecutive from the first node's."""
        if self.nats_node_ports:
            return self.nats_node_ports
        return tuple(
            NatsNodePorts(
                None if self.nats_port is None else self.nats_port + i,
                self.nats_monitor_port + i,
                self.nats_route_port + i,
            )
            for i in range(self.nats_cluster)
        )

    @property
    def nats_names(self) -> list[str]:
        """The processes' names: `nats` alone, or `nats-1` … `nats-N` in a cluster."""
        if not self.clustered:
            return ["nats"]
        return [f"nats-{i}" for i in range(1, self.nats_cluster + 1)]

    @property
    def nats_monitor_urls(self) -> list[str]:
        return [f"http://{HOST}:{node.monitor}" for node in self.nats_nodes]

    @property
    def nats_replicas(self) -> int:
        """Streams and buckets replicated on every node, up to JetStream's maximum of five."""
        return min(self.nats_cluster, 5)

    def ports_in_use(self) -> list[str]:
        """`VAR=port` for each configured port something already listens on."""
        wanted: dict[str, int | None] = {
            var: getattr(self, name) for name, var in _PORT_VARS.items()
        }
        wanted |= {f"AGENT_PORTS ({a.agent_id})": a.port for a in self.started_machines}
        if self.clustered:
            for name, node in zip(self.nats_names, self.nats_nodes, strict=True):
                wanted |= {
                    f"NATS_PORT ({name})": node.client,
                    f"NATS_MONITOR_PORT ({name})": node.monitor,
                    f"NATS_ROUTE_PORT ({name})": node.route,
                }
        return [
            f"{var}={port}"
            for var, port in wanted.items()
            if port and not is_free(port, reuse_addr=True)
        ]

    # Where things live under the data directory.
    @property
    def nats_dir(self) -> Path:
        return self.data_dir / "nats"

    @property
    def nats_cluster_dir(self) -> Path:
        """The cluster's nodes keep their stores apart from the single server's."""
        return self.data_dir / "nats-cluster"

    @property
    def s3_dir(self) -> Path:
        return self.data_dir / "s3"

    @property
    def maildir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def index_db_path(self) -> Path:
        return self.data_dir / "index" / "index.sqlite3"

    @property
    def fleet_file(self) -> Path:
        return self.external_fleet_file or self.data_dir / "fleet.yaml"

    @property
    def started_machines(self) -> tuple[AgentSpec, ...]:
        """The machines the local run starts: none when the fleet is an outside file."""
        return () if self.external_fleet_file else self.agents

    @property
    def secrets_file(self) -> Path:
        return self.data_dir / "secrets.json"

    def agent_data_dir(self, agent: AgentSpec) -> Path:
        return self.data_dir / "agents" / agent.agent_id

    # Public URLs.
    @property
    def intake_url(self) -> str:
        return f"http://{HOST}:{self.intake_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.gateway_port}"

    @property
    def gateway_ws_url(self) -> str:
        return f"ws://{HOST}:{self.gateway_port}"

    @property
    def s3_endpoint_url(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    @property
    def fleet_url(self) -> str:
        """The fleet's public URL (base of redirect_url): the first agent in the local run, or
        the first machine of an outside fleet file."""
        if self.external_fleet_file is not None:
            return _first_machine_url(self.external_fleet_file)
        return self.agents[0].url

    @property
    def metrics_urls(self) -> dict[str, str]:
        """Each service's Prometheus `/metrics` (the syncer and updater: their health port)."""
        return {
            "intake": f"{self.intake_url}/metrics",
            "progress-gateway": f"{self.gateway_url}/metrics",
            "syncer": f"http://{HOST}:{self.syncer_port}/metrics",
            "machine-updater": f"http://{HOST}:{self.updater_port}/metrics",
            **{a.agent_id: f"{a.url}/metrics" for a in self.started_machines},
        }


_PORT_VARS = {
    "intake_port": "INTAKE_PORT",
    "gateway_port": "GATEWAY_PORT",
    "syncer_port": "SYNCER_PORT",
    "updater_port": "UPDATER_PORT",
    "nats_port": "NATS_PORT",
    "nats_monitor_port": "NATS_MONITOR_PORT",
    "s3_port": "S3_PORT",
    "smtp_port": "SMTP_PORT",
}


LOCAL_RUN_VARIABLES: dict[str, tuple[str, str]] = {
    "INTAKE_PORT": ("intake_port", "The local run's intake (form, JSON API, request pages)."),
    "GATEWAY_PORT": ("gateway_port", "The local run's progress gateway (WebSocket progress)."),
    "SYNCER_PORT": ("syncer_port", "The local run's syncer health port."),
    "UPDATER_PORT": ("updater_port", "The local run's machine-updater health port."),
    "NATS_PORT": ("nats_port", "The local nats-server's client port (the first node's)."),
    "NATS_MONITOR_PORT": ("nats_monitor_port", "The local nats-server's monitoring port."),
    "NATS_CLUSTER": ("nats_cluster", "3: three clustered nats-servers, streams at 3 replicas."),
    "NATS_ROUTE_PORT": ("nats_route_port", "The first node's cluster port (the others +1, +2)."),
    "S3_PORT": ("s3_port", "The local S3 store (`weed mini`)."),
    "S3_BUCKET": ("s3_bucket", "The bucket the local run creates and gives every child."),
    "SMTP_PORT": ("smtp_port", "The local SMTP sink, which keeps each e-mail as a file."),
    "DEVSTACK_DATA_DIR": ("data_dir", "Where the local run keeps everything (`make clean-data`)."),
    "DEVSTACK_MACHINES": (
        "machines",
        "`update_config`: the three local machines are stand-ins of the Rails machines "
        "(navigator's CGI and the pages, nothing of ours installed) instead of agents.",
    ),
    "FLEET_FILE": (
        "external_fleet_file",
        "Use this fleet file and start no machines (stand-ins or real ones of any protocol); "
        "unset, devstack writes `.data/fleet.yaml` for the ports in use.",
    ),
    "AGENT_PORTS": ("agents", "The three local agents' ports, comma-separated."),
    "AGENT_BASE_PORT": ("agents", "The first local agent's port (the others +1, +2)."),
    "LOG_LEVEL": ("log_level", "The children's log level."),
    "LOG_JSON": ("log_json", "The children's logs as JSON lines (the local run: plain text)."),
}
"""What `StackConfig.from_env` reads: variable → (the field it sets, what it is). The README's
configuration table shows them beside the services' (`devstack.settings_table`)."""


def _agent_ports(env: Mapping[str, str]) -> list[int]:
    """AGENT_PORTS="8101,8102,8103" or AGENT_BASE_PORT=8101 (then +1, +2)."""
    if env.get("AGENT_PORTS"):
        return [int(p) for p in env["AGENT_PORTS"].replace(" ", "").split(",") if p]
    if env.get("AGENT_BASE_PORT"):
        base = int(env["AGENT_BASE_PORT"])
        return [base + i for i in range(len(AGENT_IDS_REGIONS))]
    return []


def s3_identities(
    bucket: str, *, writer: tuple[str, str], reader: tuple[str, str]
) -> dict[str, object]:
    """`weed mini -s3.config` for two keys (access key, secret): `writer` (the syncer's) may do
    anything, `reader` (the agents') only read and list `bucket`."""

    def identity(name: str, key: tuple[str, str], actions: list[str]) -> dict[str, object]:
        return {
            "name": name,
            "credentials": [{"accessKey": key[0], "secretKey": key[1]}],
            "actions": actions,
        }

    return {
        "identities": [
            identity("syncer", writer, ["Admin", "Read", "Write", "List", "Tagging"]),
            identity("agents", reader, [f"Read:{bucket}", f"List:{bucket}"]),
        ]
    }
