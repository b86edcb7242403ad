"""Running the machine's (or the index host's) own commands, each with a timeout: a sidecar agent's
commands after an apply, the syncer's before a snapshot.

A command is a string, run by `/bin/sh -c` (so an operator can write `navigator -s reload`), or
an argv list, run as it is. Each runs in its own session, so on timeout (or when the agent stops)
the whole process group is killed, children included.

Least privilege (docs/SECURITY.md):
- **Environment.** A command gets an allow-listed environment (`command_environment`): the
  names in `DEFAULT_ENV_ALLOW` and those the operator adds (`AGENT_COMMAND_ENV`), never the
  agent's own secrets (`NEVER_PASSED`: the update secret, S3 keys, signing keys, NATS
  credentials), plus the `SHOWCASE_*` variables of the apply.
- **Output.** stdout and stderr are merged and read in chunks, so a line of any length (a `\\r`
  progress bar) never breaks the update: `\\r` ends a line as `\\n` does, a line is cut at
  `MAX_LINE_CHARS`, and at most `MAX_LOGGED_BYTES` per command are logged (the rest is counted,
  not kept). Every line goes through the `Redactor` (the agent's secret values, bearer tokens)
  before it reaches the agent's log. The output is never part of an HTTP answer: a failure says
  which command failed and how, and points at the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import re
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_LINE_CHARS = 2000
MAX_LOGGED_BYTES = 256 * 1024
_CHUNK = 64 * 1024
_SECRET_MARGIN = 1024
"""A line is cut only once this much more than `MAX_LINE_CHARS` of it was read."""
_DRAIN_AFTER_KILL_S = 5.0
"""After the kill, how long the rest of the output may take to arrive (a grandchild that left
the group could hold the pipe open: never wait on it for ever)."""

DEFAULT_ENV_ALLOW = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TMPDIR",
    "TERM",
    "RAILS_*",
    "RACK_ENV",
    "BUNDLE_*",
    "BUNDLER_*",
    "GEM_*",
    "RUBY*",
    "FLY_APP_NAME",
    "FLY_REGION",
    "FLY_MACHINE_ID",
    "FLY_ALLOC_ID",
    "PRIMARY_REGION",
    "KAMAL_CONTAINER_NAME",
)
"""What the application's commands need to run (a Ruby/Rails app on Fly or Kamal). Patterns
are shell-style (`fnmatch`); the operator adds names with `AGENT_COMMAND_ENV`."""

NEVER_PASSED = (
    "MACHINE_UPDATE_SECRET",
    "METRICS_TOKEN",
    "AWS_*",
    "S3_*",
    "SNAPSHOT_SIGNING_*",
    "NATS_*",
    "PROGRESS_TOKEN_SECRET",
    "INTAKE_SESSION_SECRET",
    "FLY_API_TOKEN",
)
"""The agent's own secrets (and the pipeline's): never in a command's environment, even when
an allow pattern names them."""

REDACTED = "[redacted]"
_MIN_REDACTED_CHARS = 6
"""Shorter values (a region, `1`) would redact ordinary words."""
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")

Command = str | Sequence[str]


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def command_environment(
    showcase_env: Mapping[str, str],
    allow: Sequence[str] = (),
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment a command runs with: the allow-listed names of `source` (the agent's
    environment by default) that are not the agent's secrets, and the apply's `showcase_env`."""
    source = os.environ if source is None else source
    patterns = (*DEFAULT_ENV_ALLOW, *allow)
    passed = {
        name: value
        for name, value in source.items()
        if _matches(name, patterns) and not _matches(name, NEVER_PASSED)
    }
    return passed | dict(showcase_env)


class Redactor:
    """Replaces the agent's secret values, and bearer/basic credentials, in a line of output."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if s and len(s) >= _MIN_REDACTED_CHARS}
        self._secrets = sorted(values, key=len, reverse=True)  # the longest first

    @classmethod
    def of_environment(cls, source: Mapping[str, str] | None = None) -> Redactor:
        """Every value the agent holds under a name that is never passed to a command."""
        source = os.environ if source is None else source
        return cls(value for name, value in source.items() if _matches(name, NEVER_PASSED))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


@dataclass(frozen=True)
class CommandOutcome:
    command: str
    """How the command is shown in logs and failures."""
    returncode: int | None
    """None when it was killed after its timeout."""
    timeout_s: float
    lines: int = 0
    """Lines of output it wrote (all logged, up to `MAX_LOGGED_BYTES`)."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """Why it failed: never its output (which may hold anything), only where to find it."""
        if self.returncode is None:
            what = f"timed out after {self.timeout_s:g}s and was killed"
        else:
            what = f"exited with status {self.returncode}"
        return (
            f"`{self.command}` {what}; its {self.lines} line(s) of output are in the agent's "
            "log (lines starting with the command)"
        )


def argv_of(command: Command) -> list[str]:
    return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)


def shown(command: Command) -> str:
    return command if isinstance(command, str) else " ".join(command)


async def run_command(
    command: Command,
    env: Mapping[str, str],
    timeout_s: float,
    cwd: str | None = None,
    redact: Redactor | None = None,
    stdin: bytes | None = None,
    on_line: Callable[[str], None] | None = None,
) -> CommandOutcome:
    """Run `command` to its end or its timeout; never raises for the command's own failure.
    `stdin`: bytes written to its standard input (then closed; a CGI's request body);
    `on_line`: sees every line of its output (redacted, uncut), logged or not."""
    name = shown(command)
    output = _OutputLog(name, redact or Redactor.of_environment(), on_line)
    proc = await asyncio.create_subprocess_exec(
        *argv_of(command),
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,  # its own process group: one kill reaches its children
    )
    assert proc.stdout is not None
    feeder = None
    if stdin is not None:
        assert proc.stdin is not None
        feeder = asyncio.create_task(_feed(proc.stdin, stdin))
    reader = asyncio.create_task(output.collect(proc.stdout))
    timed_out = False
    try:
        async with asyncio.timeout(timeout_s):
            await proc.wait()
            await reader
    except TimeoutError:
        timed_out = True
        log.error("command `%s` timed out after %gs: killing its process group", name, timeout_s)
    finally:
        if proc.returncode is None or timed_out:
            _kill_group(proc.pid)
            await proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, _DRAIN_AFTER_KILL_S)
        reader.cancel()
        if feeder is not None:
            feeder.cancel()
    output.finish()
    returncode = None if timed_out else proc.returncode
    log.info("command `%s` finished: %s", name, "timed out" if timed_out else returncode)
    return CommandOutcome(name, returncode, timeout_s, output.lines)


async def _feed(pipe: asyncio.StreamWriter, data: bytes) -> None:
    """Write `data` to the command's standard input and close it; a command that stops reading
    (or exits) early is its own business, not an error here."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        pipe.write(data)
        await pipe.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        pipe.close()
        await pipe.wait_closed()


class _OutputLog:
    """A command's output, read in chunks and logged line by line, capped and redacted."""

    def __init__(
        self, name: str, redact: Redactor, on_line: Callable[[str], None] | None = None
    ) -> None:
        self.name = name
        self.redact = redact
        self.on_line = on_line
        self.lines = 0
        self._pending = ""
        self._logged_bytes = 0
        self._dropped_bytes = 0
        self._skipping = False
        """The rest of an over-long line is being dropped, up to its end."""

    async def collect(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(_CHUNK):
            self.feed(chunk.decode(errors="replace"))
        self.finish()

    def feed(self, text: str) -> None:
        *complete, self._pending = re.split(r"\r\n|\r|\n", self._pending + text)
        for line in complete:
            if self._skipping:  # the end of a line whose start was logged
                self._skipping = False
                self._dropped_bytes += len(line)
            else:
                self._line(line)
        if self._skipping:
            self._dropped_bytes += len(self._pending)
            self._pending = ""
        elif len(self._pending) > MAX_LINE_CHARS + _SECRET_MARGIN:
            # No end in sight: log its start (redacted whole first: a secret straddling the cut
            # is still inside what was read) and drop the rest of the line.
            self._line(self._pending)
            self._pending, self._skipping = "", True

    def finish(self) -> None:
        if self._pending:
            self._line(self._pending)
            self._pending = ""
        if self._dropped_bytes:
            log.warning(
                "[%s] … %d more bytes of output not logged (lines are cut at %d characters, "
                "at most %d bytes are logged per command)",
                self.name,
                self._dropped_bytes,
                MAX_LINE_CHARS,
                MAX_LOGGED_BYTES,
            )
            self._dropped_bytes = 0

    def _line(self, line: str) -> None:
        self.lines += 1
        if self.on_line is not None:
            self.on_line(self.redact(line))
        if self._logged_bytes >= MAX_LOGGED_BYTES:
            self._dropped_bytes += len(line)
            return
        line = self.redact(line)  # before the cut, so no secret is cut in two
        if len(line) > MAX_LINE_CHARS:
            line = f"{line[:MAX_LINE_CHARS]} … (line cut at {MAX_LINE_CHARS} characters)"
        self._logged_bytes += len(line)
        log.info("[%s] %s", self.name, line)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
