"""`rollback` and `unpin` without the syncer's signing key: refused with what to do (exit 1,
nothing changed, nothing audited), never a traceback — against a real nats-server."""

from __future__ import annotations

import pytest

from tests.integration.showcasectl.conftest import Ctl


@pytest.mark.parametrize("key", [None, "not-a-key"])
@pytest.mark.parametrize("command", [["rollback", "--as", "bob"], ["unpin", "--as", "bob"]])
async def test_without_the_signing_key_it_is_refused_saying_how(
    js, ctl: Ctl, command: list[str], key: str | None
) -> None:
    unset: dict[str, str | None] = {"SNAPSHOT_SIGNING_KEY": key, "SHOWCASE_DEV_MODE": None}
    without = Ctl(ctl.env | unset)  # type: ignore[arg-type]  # None unsets it (CliRunner)
    result = await without(*command)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "refused: cannot sign the pinned pointer, nothing changed" in " ".join(
        result.output.split()
    )
    assert "SNAPSHOT_SIGNING_KEY" in result.output and ".data/secrets.json" in result.output
    refused = await without.json(*command, exit_code=1)
    assert refused["ok"] is False and refused["changed"] is False
    assert await ctl.json("audit") == []
