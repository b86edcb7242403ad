"""Which machines the local run starts: agents, update_config stand-ins, or none (FLEET_FILE)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from devstack.children import Children
from devstack.config import Secrets, StackConfig
from devstack.fleet import fleet_document
from devstack.output import LogMux


def test_fleet_file_in_the_environment_means_no_machines_of_our_own(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({"machines": [{"id": "a", "url": "http://10.0.0.1:3000/"}]}))
    config = StackConfig.from_env({"FLEET_FILE": str(fleet)})
    assert config.started_machines == () and config.fleet_file == fleet
    assert config.fleet_url == "http://10.0.0.1:3000"  # where the studios' redirects land
    assert not any(name.startswith("AGENT_PORTS") for name in config.ports_in_use())


def test_a_fleet_file_without_machines_is_refused_with_its_name(tmp_path: Path) -> None:
    fleet = tmp_path / "empty.yaml"
    fleet.write_text("machines: []\n")
    with pytest.raises(ValueError, match=r"empty\.yaml"):
        _ = StackConfig.from_env({"FLEET_FILE": str(fleet)}).fleet_url


def test_update_config_machines_are_standins_named_so_in_the_fleet_file(tmp_path: Path) -> None:
    config = StackConfig.from_env({"DEVSTACK_MACHINES": "update_config"}, data_dir=tmp_path)
    document = fleet_document(config.agents, config.machines)
    assert {m["protocol"] for m in document["machines"]} == {"update_config"}
    secrets = Secrets.load_or_create(tmp_path / "secrets.json")
    machine = Children(config, secrets, lambda: "nats://x", LogMux()).machine(config.agents[0])
    assert machine.args[1:3] == ["-m", "devstack.standin_machine"]
    assert "protocol" not in fleet_document(config.agents)["machines"][0]  # agents: the default


def test_an_unknown_machine_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="agent, update_config"):
        StackConfig.from_env({"DEVSTACK_MACHINES": "kamal"})
