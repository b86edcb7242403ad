"""The compose stack on podman: the image built from deploy/Dockerfile, docker-compose.yml brought
up by podman-compose under a project name of its own, on free published ports, then torn down
(containers, volumes, network) with nothing left behind. Used by tests/compose and bench/.

podman here has no systemd to run healthchecks, so readiness is polled: the published services'
`/readyz` over HTTP, the others' with the image's own healthcheck (`podman exec`).
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from devstack.ports import free_port
from showcase_common.roles import ROLES, password_variable
from showcase_common.signing import generate_key_pair

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("SHOWCASE_IMAGE", "localhost/showcase/pipeline:latest")
TOOLS = ROOT / ".data" / ".tools" / "podman-compose"
PUBLISHED = ("intake", "progress-gateway", "agent-1", "agent-2", "agent-3")
INTERNAL = ("syncer", "machine-updater")
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(ROOT / "deploy" / "podman" / "containers.conf"))
    return env


def podman_unavailable() -> str | None:
    """Why podman cannot run containers here, or None when it can."""
    if shutil.which("podman") is None:
        return "podman is not installed (make podman installs it as root on Debian)"
    probe = subprocess.run(
        ["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        return f"podman cannot run here: {probe.stderr.strip()[-300:]}"
    return None


def podman_compose() -> str:
    """podman-compose from PATH, else installed (PyPI) into .data/.tools once."""
    found = shutil.which("podman-compose")
    if found:
        return found
    binary = TOOLS / "bin" / "podman-compose"
    if not binary.exists():
        # where `make` puts it when it is not on PATH (pip install --user uv)
        user_bin = Path.home() / ".local" / "bin"
        uv = shutil.which("uv", path=f"{os.environ.get('PATH', '')}:{user_bin}") or "uv"
        subprocess.run([uv, "venv", "-q", str(TOOLS)], check=True)
        python = str(TOOLS / "bin" / "python")
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", python, "podman-compose"], check=True
        )
    return str(binary)


def build_image(log: Path) -> float:
    """The base image (made locally when no registry answers), then the image; seconds taken."""
    started = time.monotonic()
    with log.open("ab") as out:
        env = podman_env() | {"ENGINE": "podman"}
        subprocess.run(
            [str(ROOT / "deploy/podman/base-image.sh")], env=env, stdout=out, stderr=out, check=True
        )
        subprocess.run(
            ["podman", "build", "--pull=never", "--format", "docker", "-f", "deploy/Dockerfile",
             "-t", IMAGE, "."],
            cwd=ROOT, env=env, stdout=out, stderr=out, check=True,
        )  # fmt: skip
    return time.monotonic() - started


def image_exists() -> bool:
    probe = subprocess.run(
        ["podman", "image", "exists", IMAGE], env=podman_env(), capture_output=True, check=False
    )
    return probe.returncode == 0


def image_size() -> int:
    out = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE],
        env=podman_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(out.stdout.strip())


@dataclass
class ComposeStack:
    """One project of docker-compose.yml, on free loopback ports, with fresh secrets."""

    workdir: Path
    files: tuple[str, ...] = ("docker-compose.yml",)
    project: str = field(default_factory=lambda: f"showcase-test-{secrets.token_hex(4)}")
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ports = {name: free_port() for name in PUBLISHED}
        self.env_file = self.workdir / "compose.env"
        self.log = self.workdir / "compose.log"
        self.env_file.write_text(self._env_text())
        self._ip_forward = IP_FORWARD.read_text() if IP_FORWARD.exists() else None
        self._iptables = {table: _iptables_rules(table) for table in IPTABLES_TABLES}

    def _env_text(self) -> str:
        p = self.ports
        signing_key, verify_key = generate_key_pair()
        values = {
            "PROGRESS_TOKEN_SECRET": secrets.token_urlsafe(32),
            "MACHINE_UPDATE_SECRET": secrets.token_urlsafe(32),
            "INTAKE_SESSION_SECRET": secrets.token_urlsafe(32),
            # nats-server reads a variable's value as a number when it starts with a digit or
            # `-`: passwords it reads from the environment start with a letter
            **{password_variable(r): "p" + secrets.token_urlsafe(16) for r in ROLES},
            "NATS_ROUTE_PASSWORD": "p" + secrets.token_urlsafe(16),
            "S3_SECRET_ACCESS_KEY": secrets.token_urlsafe(16),
            "S3_AGENT_SECRET_ACCESS_KEY": secrets.token_urlsafe(16),
            "SNAPSHOT_SIGNING_KEY": signing_key,
            "SNAPSHOT_VERIFY_KEY": verify_key,
            "BIND_ADDRESS": "127.0.0.1",
            "INTAKE_PUBLISHED_PORT": p["intake"],
            "GATEWAY_PUBLISHED_PORT": p["progress-gateway"],
            "AGENT_1_PUBLISHED_PORT": p["agent-1"],
            "AGENT_2_PUBLISHED_PORT": p["agent-2"],
            "AGENT_3_PUBLISHED_PORT": p["agent-3"],
            "PUBLIC_INTAKE_URL": self.url("intake"),
            "PUBLIC_GATEWAY_URL": f"ws://127.0.0.1:{p['progress-gateway']}",
            "PUBLIC_FLEET_URL": self.url("agent-1"),
            "SHOWCASE_IMAGE": IMAGE,
        }
        return "".join(f"{k}={v}\n" for k, v in values.items())

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def compose(self, *args: str, check: bool = True, timeout_s: float = 600) -> None:
        command = [podman_compose(), "-p", self.project, "--env-file", str(self.env_file)]
        for name in self.files:
            command += ["-f", str(ROOT / name)]
        with self.log.open("ab") as out:
            out.write(f"\n$ {' '.join(command + list(args))}\n".encode())
            out.flush()
            done = subprocess.run(
                [*command, *args], cwd=ROOT, env=podman_env(), stdout=out, stderr=out,
                timeout=timeout_s,
            )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"podman-compose {' '.join(args)} failed; see {self.log}")

    def up(self) -> None:
        self.compose("up", "-d")

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def ready(self) -> dict[str, bool]:
        """Each service's /readyz: over HTTP when published, with the image's check otherwise."""
        state = {name: _http_ok(f"{self.url(name)}/readyz") for name in PUBLISHED}
        for name in INTERNAL:
            check = subprocess.run(
                ["podman", "exec", self.container(name), "python", "/app/healthcheck.py"],
                env=podman_env(), capture_output=True, timeout=30,
            )  # fmt: skip
            state[name] = check.returncode == 0
        return state

    def wait_ready(self, timeout_s: float) -> float:
        started = time.monotonic()
        state: dict[str, bool] = {}
        while time.monotonic() - started < timeout_s:
            state = self.ready()
            if all(state.values()):
                return time.monotonic() - started
            time.sleep(0.5)
        self.compose("logs", check=False, timeout_s=60)
        raise TimeoutError(f"not ready within {timeout_s}s: {state}; logs in {self.log}")

    def down(self) -> None:
        """Containers, volumes and the project's network removed; ip_forward as it was."""
        self.compose("down", "-v", "-t", "10", check=False)
        subprocess.run(
            ["podman", "network", "rm", "-f", f"{self.project}_default"],
            env=podman_env(), capture_output=True,
        )  # fmt: skip
        if self._ip_forward is not None and IP_FORWARD.read_text() != self._ip_forward:
            IP_FORWARD.write_text(self._ip_forward)
        self._restore_iptables()

    def _restore_iptables(self) -> None:
        """Undo the rules and chains the bridge network added (CNI's shared port-forwarding
        chains stay after the network goes), unless other containers now use them."""
        if _running_containers():
            return
        for table, before in self._iptables.items():
            added = [rule for rule in _iptables_rules(table) if rule not in before]
            for rule in (r for r in added if r.startswith("-A ")):
                subprocess.run(
                    ["iptables", "-t", table, "-D", *shlex.split(rule)[1:]], capture_output=True
                )
            for rule in (r for r in added if r.startswith("-N ")):
                chain = rule.split()[1]
                subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
                subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True)

    def iptables_added(self) -> list[str]:
        return [
            f"{table}: {rule}"
            for table, before in self._iptables.items()
            for rule in _iptables_rules(table)
            if rule not in before
        ]

    def leftovers(self) -> list[str]:
        """Anything of this project still there: containers, volumes, networks."""
        found: list[str] = []
        label = f"label=io.podman.compose.project={self.project}"
        for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
            out = subprocess.run(
                ["podman", *kind, "--filter", label, "--format", "{{.Names}}{{.Name}}"],
                env=podman_env(), capture_output=True, text=True,
            )  # fmt: skip
            found += [f"{kind[0]}: {line}" for line in out.stdout.split() if line]
        return found


IPTABLES_TABLES = ("filter", "nat")


def _iptables_rules(table: str) -> list[str]:
    if shutil.which("iptables") is None:
        return []
    out = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True)
    return out.stdout.splitlines() if out.returncode == 0 else []


def _running_containers() -> bool:
    out = subprocess.run(["podman", "ps", "-q"], env=podman_env(), capture_output=True, text=True)
    return bool(out.stdout.strip())


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":  # pragma: no cover - a manual check
    print(podman_unavailable() or "podman can run here", file=sys.stderr)
