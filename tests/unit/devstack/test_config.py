"""The local run's configuration: defaults, environment overrides, secrets kept once."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from devstack.config import Secrets, StackConfig
from devstack.fleet import write_fleet_file


def test_defaults_are_the_contracts_ports() -> None:
    config = StackConfig.from_env({})
    assert config.intake_url == "http://127.0.0.1:8000"
    assert config.gateway_ws_url == "ws://127.0.0.1:8001"
    assert config.nats_port == 4222
    assert config.s3_endpoint_url == "http://127.0.0.1:9000"
    assert [(a.agent_id, a.region, a.port) for a in config.agents] == [
        ("local-1", "iad", 8101),
        ("local-2", "ord", 8102),
        ("local-3", "sjc", 8103),
    ]
    assert config.fleet_url == "http://127.0.0.1:8101"


def test_every_port_is_overridable_by_its_variable() -> None:
    env = {
        "INTAKE_PORT": "9100",
        "GATEWAY_PORT": "9101",
        "SYNCER_PORT": "9102",
        "UPDATER_PORT": "9103",
        "NATS_PORT": "9104",
        "NATS_MONITOR_PORT": "9105",
        "S3_PORT": "9106",
        "SMTP_PORT": "9107",
        "AGENT_PORTS": "9201, 9202,9203",
        "DEVSTACK_DATA_DIR": "/tmp/elsewhere",
    }
    config = StackConfig.from_env(env)
    assert (config.intake_port, config.gateway_port) == (9100, 9101)
    assert (config.syncer_port, config.updater_port) == (9102, 9103)
    assert (config.nats_port, config.nats_monitor_port) == (9104, 9105)
    assert (config.s3_port, config.smtp_port) == (9106, 9107)
    assert [a.port for a in config.agents] == [9201, 9202, 9203]
    assert config.data_dir == Path("/tmp/elsewhere")


def test_agent_base_port_numbers_the_agents_from_it() -> None:
    config = StackConfig.from_env({"AGENT_BASE_PORT": "7000"})
    assert [a.url for a in config.agents] == [
        "http://127.0.0.1:7000",
        "http://127.0.0.1:7001",
        "http://127.0.0.1:7002",
    ]


def test_explicit_arguments_win_over_the_environment(tmp_path: Path) -> None:
    config = StackConfig.from_env({"DEVSTACK_DATA_DIR": "/x"}, data_dir=tmp_path, log_json=None)
    assert config.data_dir == tmp_path


def test_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secrets.json"
    first = Secrets.load_or_create(path)
    again = Secrets.load_or_create(path)
    assert first == again
    assert len(first.progress_token_secret) >= 32
    assert first.progress_token_secret != first.machine_update_secret
    assert path.stat().st_mode & 0o077 == 0


def test_fleet_file_names_the_agents_on_the_ports_in_use(tmp_path: Path) -> None:
    config = StackConfig.on_free_ports(tmp_path)
    write_fleet_file(config.fleet_file, config.agents)
    machines = yaml.safe_load(config.fleet_file.read_text())["machines"]
    assert [m["id"] for m in machines] == ["local-1", "local-2", "local-3"]
    assert [m["region"] for m in machines] == ["iad", "ord", "sjc"]
    assert [m["url"] for m in machines] == [a.url for a in config.agents]


def test_a_secrets_file_from_before_a_new_secret_gets_it_added(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    old = {k: v for k, v in Secrets.generate().items() if k != "intake_session_secret"}
    path.write_text(json.dumps(old))
    loaded = Secrets.load_or_create(path)
    assert loaded.progress_token_secret == old["progress_token_secret"]  # kept, not regenerated
    assert len(loaded.intake_session_secret) >= 32
    assert loaded.intake_session_secret != loaded.progress_token_secret
    assert Secrets.load_or_create(path) == loaded  # and kept from now on
