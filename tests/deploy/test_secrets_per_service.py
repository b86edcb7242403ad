"""Least privilege in the deployment files: each service gets only its own secrets, in
docker-compose.yml and in deploy/fly/*.toml (docs/SECURITY.md, "Least privilege"). A public
agent never holds the token-signing, session (CSRF) or snapshot-signing keys, nor a writing S3
key; only the syncer holds the snapshot signing key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FLY = ROOT / "deploy" / "fly"

SECRETS = {
    "PROGRESS_TOKEN_SECRET",
    "INTAKE_SESSION_SECRET",
    "MACHINE_UPDATE_SECRET",
    "SNAPSHOT_SIGNING_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "FLY_API_TOKEN",
    "S3_AGENT_ACCESS_KEY_ID",
    "S3_AGENT_SECRET_ACCESS_KEY",
}
"""Every secret a service of the pipeline may hold (the verify key is public, not listed)."""

COMPOSE_SECRETS = {
    "intake": {"PROGRESS_TOKEN_SECRET", "INTAKE_SESSION_SECRET"},
    "progress-gateway": {"PROGRESS_TOKEN_SECRET"},
    "syncer": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SNAPSHOT_SIGNING_KEY"},
    "machine-updater": {"MACHINE_UPDATE_SECRET"},
    "alerts": set(),
    "agent-1": {"MACHINE_UPDATE_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
    "agent-2": {"MACHINE_UPDATE_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
    "agent-3": {"MACHINE_UPDATE_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
    "s3": {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "S3_AGENT_ACCESS_KEY_ID",
        "S3_AGENT_SECRET_ACCESS_KEY",
    },
    "smtp": set(),
}


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])


@pytest.mark.parametrize("service", sorted(COMPOSE_SECRETS))
def test_each_compose_service_gets_only_its_own_secrets(service: str) -> None:
    env = _compose()[service].get("environment", {})
    assert SECRETS & set(env) == COMPOSE_SECRETS[service]


def test_compose_agents_get_the_read_only_key_and_the_public_key_only() -> None:
    services = _compose()
    syncer = services["syncer"]["environment"]
    for agent in ("agent-1", "agent-2", "agent-3"):
        env = services[agent]["environment"]
        assert "S3_AGENT_ACCESS_KEY_ID" in env["AWS_ACCESS_KEY_ID"]
        assert "S3_AGENT_SECRET_ACCESS_KEY" in env["AWS_SECRET_ACCESS_KEY"]
        assert env["AWS_SECRET_ACCESS_KEY"] != syncer["AWS_SECRET_ACCESS_KEY"]
        assert "SNAPSHOT_VERIFY_KEY" in env["SNAPSHOT_VERIFY_KEY"]


def test_every_compose_service_is_covered() -> None:
    assert set(_compose()) == set(COMPOSE_SECRETS) | {"nats"}


FLY_SECRETS = {
    # intake and the syncer share one machine (one volume): each process is started without
    # the other's secrets (`env -u` in its command), checked below
    "intake.toml": {
        "PROGRESS_TOKEN_SECRET",
        "INTAKE_SESSION_SECRET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SNAPSHOT_SIGNING_KEY",
    },
    "gateway.toml": {"PROGRESS_TOKEN_SECRET"},
    "updater.toml": {"MACHINE_UPDATE_SECRET", "FLY_API_TOKEN"},
    "agent.toml": {"MACHINE_UPDATE_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
    "nats.toml": set(),
}


def _fly_secrets(name: str) -> set[str]:
    text = (FLY / name).read_text()
    line = re.search(r"^# secrets: (.+)$", text, re.MULTILINE)
    assert line, name
    env = set(tomllib.loads(text).get("env", {}))
    return (set(line.group(1).split()) | env) & SECRETS


@pytest.mark.parametrize("name", sorted(FLY_SECRETS))
def test_each_fly_app_gets_only_its_own_secrets(name: str) -> None:
    assert _fly_secrets(name) == FLY_SECRETS[name]


def test_on_the_intake_machine_each_process_drops_the_others_secrets() -> None:
    command = tomllib.loads((FLY / "intake.toml").read_text())["processes"]["app"]
    syncer = re.search(r"env ((?:-u \w+ )+)NATS_URL=\S+ python -m syncer", command)
    intake = re.search(r"exec env ((?:-u \w+ )+)python -m intake\b", command)
    assert syncer and intake, command
    assert set(syncer.group(1).split()) - {"-u"} >= {
        "PROGRESS_TOKEN_SECRET",
        "INTAKE_SESSION_SECRET",
    }
    assert set(intake.group(1).split()) - {"-u"} >= {
        "SNAPSHOT_SIGNING_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }


def test_the_agents_verify_with_the_public_key() -> None:
    assert "SNAPSHOT_VERIFY_KEY" in (FLY / "agent.toml").read_text().splitlines()[-1]
