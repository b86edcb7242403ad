"""Running the machine's own commands after an apply (sidecar mode), each with a timeout.

A command is a string, run by `/bin/sh -c` (so an operator can write `bin/rails prerender`), or
an argv list, run as it is. Each runs in its own session, so on timeout (or when the agent stops)
the whole process group is killed, children included. stdout and stderr are merged, every line
goes to the agent's log as it comes, and the last `TAIL_LINES` are kept for the failure message.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

TAIL_LINES = 20
_DRAIN_AFTER_KILL_S = 5.0
"""After the kill, how long the rest of the output may take to arrive (a grandchild that left
the group could hold the pipe open: never wait on it for ever)."""

Command = str | Sequence[str]


@dataclass(frozen=True)
class CommandOutcome:
    command: str
    """How the command is shown in logs and failures."""
    returncode: int | None
    """None when it was killed after its timeout."""
    tail: list[str]
    timeout_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """Why it failed, with the last lines of its output."""
        if self.returncode is None:
            what = f"timed out after {self.timeout_s:g}s and was killed"
        else:
            what = f"exited with status {self.returncode}"
        output = "\n".join(self.tail) if self.tail else "(no output)"
        return f"`{self.command}` {what}; the last lines of its output:\n{output}"


def argv_of(command: Command) -> list[str]:
    return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)


def shown(command: Command) -> str:
    return command if isinstance(command, str) else " ".join(command)


async def run_command(
    command: Command, env: Mapping[str, str], timeout_s: float, cwd: str | None = None
) -> CommandOutcome:
    """Run `command` to its end or its timeout; never raises for the command's own failure."""
    name = shown(command)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    proc = await asyncio.create_subprocess_exec(
        *argv_of(command),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,  # its own process group: one kill reaches its children
    )
    assert proc.stdout is not None
    reader = asyncio.create_task(_collect(proc.stdout, tail, name))
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
    returncode = None if timed_out else proc.returncode
    log.info("command `%s` finished: %s", name, "timed out" if timed_out else returncode)
    return CommandOutcome(name, returncode, list(tail), timeout_s)


async def _collect(stream: asyncio.StreamReader, tail: collections.deque[str], name: str) -> None:
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip("\r\n")
        tail.append(text)
        log.info("[%s] %s", name, text)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
