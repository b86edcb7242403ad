"""Every deploy/fly/*.toml names only settings its service reads: each [env] key and each secret
(the `# secrets:` line) is a field (or alias) of the service's pydantic settings class, or, for
NATS, a variable its nats-server configuration uses. A typo in a fly.toml is silently ignored
by pydantic-settings; this catches it. Each file also has a health check."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from intake.config import IntakeSettings
from machine_agent.config import AgentSettings
from machine_updater.config import UpdaterSettings
from progress_gateway.config import GatewaySettings
from pydantic_settings import BaseSettings
from syncer.config import SyncerSettings

from tests.support.signing import SIGNING_ENV, VERIFY_ENV

FLY = Path(__file__).resolve().parents[2] / "deploy" / "fly"
NATS_CONF = FLY.parent / "nats" / "fly.conf"

READERS: dict[str, tuple[type[BaseSettings], ...]] = {
    "intake.toml": (IntakeSettings, SyncerSettings),  # one machine, one volume, both processes
    "gateway.toml": (GatewaySettings,),
    "updater.toml": (UpdaterSettings,),
    "agent.toml": (AgentSettings,),
}
KEYS = SIGNING_ENV | VERIFY_ENV
SET_BY_FLY = {"FLY_MACHINE_ID", "FLY_REGION", "FLY_APP_NAME"}


def settings_names(*classes: type[BaseSettings]) -> set[str]:
    """The environment variables the classes read: field names and their aliases, upper case."""
    names: set[str] = set()
    for cls in classes:
        for name, info in cls.model_fields.items():
            names.add(name.upper())
            alias = info.validation_alias
            choices = getattr(alias, "choices", None) or ([alias] if alias else [])
            names |= {str(choice).upper() for choice in choices}
    return names


def named(path: Path) -> tuple[set[str], set[str]]:
    """([env] keys, secrets) of one fly.toml."""
    env = set(tomllib.loads(path.read_text()).get("env", {}))
    line = re.search(r"^# secrets: (.+)$", path.read_text(), re.MULTILINE)
    assert line, f"{path.name} lists no secrets (a `# secrets: A B` line)"
    return env, set(line.group(1).split())


def test_every_deployable_part_has_a_fly_toml() -> None:
    assert {p.name for p in FLY.glob("*.toml")} == {*READERS, "nats.toml"}


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_setting_a_fly_toml_names_is_read_by_its_service(name: str) -> None:
    env, secrets = named(FLY / name)
    command = str(tomllib.loads((FLY / name).read_text()).get("processes", {}))
    passed_on = set(re.findall(r"\$([A-Z_]+)", command))  # handed to a process by its command
    unknown = (env | secrets) - settings_names(*READERS[name]) - passed_on
    assert not unknown, f"{name} sets what its service never reads: {sorted(unknown)}"


def test_the_nats_machines_set_what_their_configuration_uses() -> None:
    env, secrets = named(FLY / "nats.toml")
    # fly.conf's variables, and those of the users file it includes (unquoted `$NAME` only:
    # a quoted "$JS.API…" is a subject)
    used = set(re.findall(r"\$([A-Z_]+)", NATS_CONF.read_text()))
    used |= set(re.findall(r":\s*\$([A-Z_]+)", (NATS_CONF.parent / "users.conf").read_text()))
    assert env | secrets | SET_BY_FLY >= used, used - env - secrets
    assert (env | secrets) <= used, (env | secrets) - used


@pytest.mark.parametrize("path", sorted(FLY.glob("*.toml")), ids=lambda p: p.name)
def test_each_fly_app_is_health_checked(path: Path) -> None:
    config = tomllib.loads(path.read_text())
    http_checks = config.get("http_service", {}).get("checks", [])
    machine_checks = config.get("checks", {})
    paths = [c.get("path") for c in http_checks]
    paths += [c.get("path") for c in machine_checks.values() if c.get("type") != "tcp"]
    tcp = [c for c in machine_checks.values() if c.get("type") == "tcp"]
    assert paths or tcp, path.name
    assert all(p in {"/readyz", "/healthz"} for p in paths), paths
    # only NATS is checked by its port: its monitoring (/healthz) listens on localhost only
    assert not tcp or path.name == "nats.toml"


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_service_starts_with_what_its_fly_toml_gives_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside dev mode a missing secret stops a service: the toml's [env] and `# secrets:`
    must hold every one it needs (intake.toml once lacked INTAKE_SESSION_SECRET)."""
    env = tomllib.loads((FLY / name).read_text()).get("env", {})
    _, secrets = named(FLY / name)
    for variable in settings_names(*READERS[name]) | {"SHOWCASE_DEV_MODE"}:
        monkeypatch.delenv(variable, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    for secret in secrets:  # the snapshot keys must be keys; the others any long secret
        monkeypatch.setenv(secret, KEYS.get(secret, "a-real-secret-" + "x" * 40))
    for cls in READERS[name]:
        cls(_env_file=None)
