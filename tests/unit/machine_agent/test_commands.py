"""The sidecar's commands get only an allow-listed environment, and their output is read in
chunks (a line of any length), capped and redacted before it is logged (`commands.py`)."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest
from showcase_common.commands import (
    MAX_LINE_CHARS,
    MAX_LOGGED_BYTES,
    REDACTED,
    Redactor,
    command_environment,
    run_command,
)

AGENT_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/root",
    "LC_ALL": "C.UTF-8",
    "RAILS_ENV": "production",
    "FLY_REGION": "iad",
    "MACHINE_UPDATE_SECRET": "update-secret-value-0123456789",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY",
    "AWS_SECRET_ACCESS_KEY": "s3-secret-value-abcdefghijkl",
    "SNAPSHOT_SIGNING_KEY": "signing-key-value-xyz",
    "METRICS_TOKEN": "metrics-token-value",
    "NATS_PASSWORD": "nats-password-value",
    "FLY_API_TOKEN": "fly-api-token-value",
    "SOMETHING_ELSE": "not asked for",
}


def test_a_command_gets_the_allow_list_and_the_apply_variables_only() -> None:
    env = command_environment({"SHOWCASE_GENERATION": "3"}, source=AGENT_ENV)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/root",
        "LC_ALL": "C.UTF-8",
        "RAILS_ENV": "production",
        "FLY_REGION": "iad",
        "SHOWCASE_GENERATION": "3",
    }


def test_the_operator_adds_names_but_never_the_agents_secrets() -> None:
    allow = ["SOMETHING_*", "MACHINE_UPDATE_SECRET", "AWS_*", "*"]
    env = command_environment({}, allow, source=AGENT_ENV)
    assert env["SOMETHING_ELSE"] == "not asked for"
    for secret in (
        "MACHINE_UPDATE_SECRET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SNAPSHOT_SIGNING_KEY",
        "METRICS_TOKEN",
        "NATS_PASSWORD",
        "FLY_API_TOKEN",
    ):
        assert secret not in env


def test_the_redactor_hides_the_agents_secret_values_and_credentials() -> None:
    redact = Redactor.of_environment(AGENT_ENV)
    line = (
        "using update-secret-value-0123456789 and s3-secret-value-abcdefghijkl; "
        "curl -H 'Authorization: Bearer abcdefghijklmnop' in iad"
    )
    assert redact(line) == (
        f"using {REDACTED} and {REDACTED}; curl -H 'Authorization: Bearer {REDACTED}' in iad"
    )


def _run(script: str, caplog: pytest.LogCaptureFixture, redact: Redactor | None = None) -> str:
    caplog.set_level(logging.INFO, logger="showcase_common.commands")
    outcome = asyncio.run(
        run_command([sys.executable, "-c", script], {"PATH": "/usr/bin:/bin"}, 30, redact=redact)
    )
    assert outcome.ok, caplog.text
    return "\n".join(r.getMessage() for r in caplog.records)


def test_a_progress_bar_line_of_a_megabyte_is_read_cut_and_the_command_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A `\r` progress bar without a newline, then an endless line: both over asyncio's 64 KiB
    # readline limit, which broke the update before.
    script = (
        "import sys\n"
        "for i in range(2000): sys.stdout.write(f'\\rprogress {i:04d} ' + '#' * 40)\n"
        "sys.stdout.write('\\n' + 'x' * 1_000_000 + '\\n')\n"
        "print('done')\n"
    )
    logged = _run(script, caplog)
    assert "progress 1999" in logged and "done" in logged
    long_line = next(m for m in logged.splitlines() if m.count("x") > 100)
    assert f"cut at {MAX_LINE_CHARS} characters" in long_line
    assert len(long_line) < MAX_LINE_CHARS + 200


def test_output_past_the_cap_is_counted_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    lines = MAX_LOGGED_BYTES // 100 + 500
    script = f"for i in range({lines}): print(f'{{i:06d}} ' + 'y' * 93)\n"
    logged = _run(script, caplog)
    assert f"{lines - 1:06d}" not in logged  # the last lines were dropped…
    assert "more bytes of output not logged" in logged  # …and that is said


def test_a_secret_in_a_long_line_is_redacted_whole(caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-" + "k" * 40
    # the secret straddles the cut; the script builds it, so the command line does not hold it
    script = (
        f"import sys; sys.stdout.write('a' * {MAX_LINE_CHARS - 10} + 's3cr3t-' + 'k' * 40"
        " + 'b' * 200000)"
    )
    logged = _run(script, caplog, Redactor([secret]))
    output = [m.split("] ", 1)[1] for m in logged.splitlines() if m.startswith("[")]
    assert output[0].endswith(f"{REDACTED} … (line cut at {MAX_LINE_CHARS} characters)")
    assert not any("s3cr3t" in line or "kkkk" in line for line in output)
