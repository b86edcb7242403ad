"""Secrets: never a public default outside the local development run, and never a short one."""

from __future__ import annotations

from typing import Any

import pytest
from intake.config import IntakeSettings
from machine_agent.config import AgentSettings
from machine_updater.config import UpdaterSettings
from progress_gateway.config import GatewaySettings
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from showcase_common.settings import DEV_PROGRESS_TOKEN_SECRET, KNOWN_DEV_SECRETS
from showcase_common.tokens import issue_token, verify_token

from tests.support.signing import TEST_VERIFY_KEY

SECRET_VARIABLES = (
    "PROGRESS_TOKEN_SECRET",
    "INTAKE_SESSION_SECRET",
    "MACHINE_UPDATE_SECRET",
    "SNAPSHOT_SIGNING_KEY",
    "SNAPSHOT_VERIFY_KEY",
    "SHOWCASE_DEV_MODE",
)
REAL = "a-real-random-secret-of-at-least-32-bytes"


@pytest.fixture(autouse=True)
def _no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _build(settings_class: type[BaseSettings], **values: Any) -> BaseSettings:
    return settings_class(_env_file=None, **values)


# Each service with the secrets it needs, all but the one under test set to real values.
SERVICES: dict[str, tuple[type[BaseSettings], dict[str, object]]] = {
    "intake/progress_token_secret": (IntakeSettings, {"intake_session_secret": REAL}),
    "intake/intake_session_secret": (IntakeSettings, {"progress_token_secret": REAL}),
    "gateway/progress_token_secret": (GatewaySettings, {}),
    "updater/machine_update_secret": (UpdaterSettings, {}),
    "agent/machine_update_secret": (AgentSettings, {"snapshot_verify_key": TEST_VERIFY_KEY}),
}


@pytest.mark.parametrize("case", SERVICES)
def test_a_missing_secret_stops_the_service_with_how_to_make_one(case: str) -> None:
    settings_class, others = SERVICES[case]
    secret = case.split("/")[1]
    with pytest.raises(ValidationError) as refused:
        _build(settings_class, **others)
    message = str(refused.value)
    assert f"{secret.upper()} is not set" in message
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in message


@pytest.mark.parametrize("public", sorted(KNOWN_DEV_SECRETS))
@pytest.mark.parametrize("case", SERVICES)
def test_a_public_development_secret_is_refused_outside_the_dev_run(case: str, public: str) -> None:
    settings_class, others = SERVICES[case]
    secret = case.split("/")[1]
    with pytest.raises(ValidationError, match=r"public development value|at least 32 bytes"):
        _build(settings_class, **others, **{secret: public})


@pytest.mark.parametrize("case", SERVICES)
def test_real_secrets_are_accepted(case: str) -> None:
    settings_class, others = SERVICES[case]
    secret = case.split("/")[1]
    settings = _build(settings_class, **others, **{secret: REAL})
    value = getattr(settings, secret)
    assert (value.get_secret_value() if hasattr(value, "get_secret_value") else value) == REAL


def test_the_dev_run_works_unconfigured_and_intake_and_gateway_agree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")
    intake = IntakeSettings(_env_file=None)
    gateway = GatewaySettings(_env_file=None)
    assert intake.progress_token_secret == DEV_PROGRESS_TOKEN_SECRET
    assert intake.intake_session_secret != intake.progress_token_secret
    token = issue_token(intake.progress_token_secret, "studio", ["r1"])
    assert verify_token(gateway.progress_token_secret, token).request_ids == {"r1"}
    updater = UpdaterSettings(_env_file=None)
    agent = AgentSettings(_env_file=None)
    assert agent.machine_update_secret is not None
    assert updater.machine_update_secret == agent.machine_update_secret.get_secret_value()


@pytest.mark.parametrize(
    ("settings_class", "variable"),
    [
        (IntakeSettings, "PROGRESS_TOKEN_SECRET"),
        (IntakeSettings, "INTAKE_SESSION_SECRET"),
        (GatewaySettings, "PROGRESS_TOKEN_SECRET"),  # the gateway has no session secret
        (UpdaterSettings, "MACHINE_UPDATE_SECRET"),
        (AgentSettings, "MACHINE_UPDATE_SECRET"),
    ],
)
def test_a_short_secret_is_refused_with_how_to_make_one(
    settings_class: type[BaseSettings], variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")
    monkeypatch.setenv(variable, "hunter2")
    with pytest.raises(ValidationError) as refused:
        _build(settings_class)
    message = str(refused.value)
    assert variable.lower() in message and "at least 32 bytes" in message
    assert "secrets.token_urlsafe" in message
