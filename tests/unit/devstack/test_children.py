"""What each child is told: the documented variables, and only ports that are free."""

from __future__ import annotations

import io
import socket
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from devstack.children import PIPELINE_SECRETS, SERVICES, Children
from devstack.config import Secrets, StackConfig
from devstack.output import LogMux
from devstack.process import ProcessFailed
from devstack.summary import summary
from showcase_common.signing import SnapshotSigner

from tests.unit.intake.helpers import make_legacy_index

SHARED = {
    "NATS_URL",
    "S3_ENDPOINT_URL",
    "S3_BUCKET",
    "INDEX_DB_PATH",
    "SHOWCASE_DEV_MODE",
    "PUBLIC_FLEET_URL",
    "PUBLIC_GATEWAY_URL",
    "PUBLIC_INTAKE_URL",
    "SMTP_HOST",
    "SMTP_PORT",
}


def _children(tmp_path: Path) -> tuple[StackConfig, Children]:
    config = StackConfig.on_free_ports(tmp_path)
    secrets = Secrets.load_or_create(config.secrets_file)
    mux = LogMux(io.StringIO(), colour=False)
    return config, Children(config, secrets, lambda: "nats://127.0.0.1:4999", mux)


def test_every_service_gets_the_shared_settings_and_its_own_port(tmp_path: Path) -> None:
    config, children = _children(tmp_path)
    for name, module, port_var in SERVICES:
        child = children.service(name, module, port_var)
        assert child.env.keys() >= SHARED
        assert child.env[port_var] == str(children.service_port(name))
        assert child.args[-2:] == ["-m", module]
    updater = children.service(*SERVICES[-1])
    assert updater.env["FLEET_FILE"] == str(config.fleet_file.resolve())
    password = children.secrets.nats_password("machine-updater")
    assert updater.env["NATS_URL"] == f"nats://machine-updater:{password}@127.0.0.1:4999"


OWN_SECRETS = {
    "intake": {"PROGRESS_TOKEN_SECRET", "INTAKE_SESSION_SECRET"},
    "progress-gateway": {"PROGRESS_TOKEN_SECRET"},
    "syncer": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SNAPSHOT_SIGNING_KEY"},
    "machine-updater": {
        "MACHINE_UPDATE_SECRET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SNAPSHOT_VERIFY_KEY",
    },
}
ALL_SECRETS = {*PIPELINE_SECRETS}


def test_each_process_gets_its_own_secrets_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAPSHOT_SIGNING_KEY", "inherited from the shell")  # never passed on
    config, children = _children(tmp_path)
    secrets = children.secrets
    for name, module, port_var in SERVICES:
        env = children.service(name, module, port_var).env
        assert ALL_SECRETS & env.keys() == OWN_SECRETS[name], name
    syncer = children.service(*SERVICES[2]).env
    assert syncer["SNAPSHOT_SIGNING_KEY"] == secrets.snapshot_signing_key
    updater = children.service(*SERVICES[3]).env  # the read-only key, for update_config bodies
    assert updater["AWS_ACCESS_KEY_ID"] == secrets.agent_aws_access_key_id
    agent = children.agent(config.agents[0]).env
    assert ALL_SECRETS & agent.keys() == {
        "MACHINE_UPDATE_SECRET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SNAPSHOT_VERIFY_KEY",
    }
    # the agents' S3 key is the read-only one, and they verify with the syncer's public key
    assert (
        agent["AWS_ACCESS_KEY_ID"] == secrets.agent_aws_access_key_id != secrets.aws_access_key_id
    )
    assert (
        agent["SNAPSHOT_VERIFY_KEY"]
        == SnapshotSigner.from_base64(secrets.snapshot_signing_key).public_key
    )
    assert "SNAPSHOT_SIGNING_KEY" not in children.alerts().env


def test_each_service_logs_in_to_nats_as_itself_and_the_agents_not_at_all(tmp_path: Path) -> None:
    config, children = _children(tmp_path)
    for name, module, port_var in SERVICES:
        url = children.service(name, module, port_var).env["NATS_URL"]
        assert url.startswith(f"nats://{name}:{children.secrets.nats_password(name)}@"), url
    assert len({children.secrets.nats_password(name) for name, _, _ in SERVICES}) == 4
    assert "NATS_URL" not in children.agent(config.agents[0]).env


def test_each_agent_knows_its_id_region_port_and_data_dir(tmp_path: Path) -> None:
    config, children = _children(tmp_path)
    agent = config.agents[1]
    env = children.agent(agent).env
    assert (env["AGENT_ID"], env["AGENT_REGION"]) == ("local-2", "ord")
    assert env["AGENT_PORT"] == str(agent.port)
    assert env["AGENT_DATA_DIR"] == str((tmp_path / "agents" / "local-2").resolve())
    assert env["PUBLIC_FLEET_URL"] == config.agents[0].url


def test_a_port_someone_listens_on_is_named_by_its_variable(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        config = replace(StackConfig.on_free_ports(tmp_path), intake_port=listener.getsockname()[1])
        busy = config.ports_in_use()
    assert busy == [f"INTAKE_PORT={config.intake_port}"]


def test_the_admin_alerter_runs_showcasectl_against_the_stacks_nats_and_smtp_sink(
    tmp_path: Path,
) -> None:
    config, children = _children(tmp_path)
    alerts = children.alerts()
    assert alerts.name == "alerts"
    assert alerts.args[1:] == ["-m", "showcasectl", "alerts", "run"]
    password = children.secrets.nats_password("alerts")
    assert alerts.env["NATS_URL"] == f"nats://alerts:{password}@127.0.0.1:4999"
    assert (alerts.env["SMTP_HOST"], alerts.env["SMTP_PORT"]) == (
        "127.0.0.1",
        str(config.smtp_port),
    )
    assert alerts.env["ADMIN_EMAIL"] == "admin@localhost"
    assert alerts.ready is not None  # no /healthz: ready once its durable is pulling


def test_a_database_from_before_the_rails_index_stops_the_run_naming_clean_data(
    tmp_path: Path,
) -> None:
    config = StackConfig.on_free_ports(tmp_path)
    out = io.StringIO()
    children = Children(
        config,
        Secrets.load_or_create(config.secrets_file),
        lambda: "nats://127.0.0.1:4999",
        LogMux(out, colour=False),
    )
    config.index_db_path.parent.mkdir(parents=True)
    make_legacy_index(config.index_db_path)

    with pytest.raises(ProcessFailed, match="cannot be used"):
        children.seed()
    assert "make clean-data" in out.getvalue()


def test_the_seed_makes_the_logins_the_summary_names(tmp_path: Path) -> None:
    config, children = _children(tmp_path)
    children.seed()
    children.seed()  # every start runs it: an index that is there is used as it is
    with sqlite3.connect(config.index_db_path) as conn:
        users = dict(conn.execute("SELECT userid, sites FROM users").fetchall())
    conn.close()
    assert users == {"admin": "index", "studio": "Boston Dance Studio"}
    assert "admin/admin (admin), studio/studio (studio)" in summary(config, "nats://x")
