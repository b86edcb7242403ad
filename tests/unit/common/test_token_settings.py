"""The progress-token secret: one default for intake and gateway, and never a short one."""

from __future__ import annotations

import pytest
from intake.config import IntakeSettings
from progress_gateway.config import GatewaySettings
from pydantic import ValidationError
from showcase_common.tokens import issue_token, verify_token


def test_unconfigured_intake_and_gateway_agree_on_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROGRESS_TOKEN_SECRET", raising=False)
    intake = IntakeSettings(_env_file=None)  # type: ignore[call-arg]
    gateway = GatewaySettings(_env_file=None)  # type: ignore[call-arg]
    token = issue_token(intake.progress_token_secret, "studio", ["r1"])
    assert verify_token(gateway.progress_token_secret, token).request_ids == {"r1"}


@pytest.mark.parametrize("settings_class", [IntakeSettings, GatewaySettings])
def test_a_short_secret_is_refused_with_how_to_make_one(
    settings_class: type[IntakeSettings] | type[GatewaySettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROGRESS_TOKEN_SECRET", "hunter2")
    with pytest.raises(ValidationError) as refused:
        settings_class(_env_file=None)  # type: ignore[call-arg]
    message = str(refused.value)
    assert "progress_token_secret" in message and "at least 32 bytes" in message
    assert "secrets.token_urlsafe" in message
