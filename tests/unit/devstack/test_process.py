"""Child processes: output prefixed line by line, and a stop that leaves nothing behind."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from devstack.output import LogMux
from devstack.process import ProcessFailed, ServiceProcess, wait_until

# A child that starts a grandchild in its own process group, prints both pids, then waits.
_FAMILY = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("pids", grandchild.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_output_lines_are_prefixed_with_the_process_name() -> None:
    out = io.StringIO()
    mux = LogMux(out, colour=False)
    child = ServiceProcess("echoer", [sys.executable, "-c", "print('one'); print('two')"], {}, mux)
    child.spawn()
    assert child.proc is not None
    child.proc.wait(30)
    wait_until(lambda: out.getvalue().count("\n") >= 2, 10, "the output")
    assert out.getvalue().splitlines() == ["echoer   | one", "echoer   | two"]


def test_colour_only_when_asked() -> None:
    assert "\x1b[" in LogMux(io.StringIO(), colour=True).prefix("x")
    assert "\x1b[" not in LogMux(io.StringIO(), colour=False).prefix("x")


def test_stop_takes_the_whole_process_group_with_it() -> None:
    out = io.StringIO()
    child = ServiceProcess(
        "family", [sys.executable, "-c", _FAMILY], dict(os.environ), LogMux(out, colour=False)
    )
    child.spawn()
    wait_until(lambda: "pids" in out.getvalue(), 30, "the grandchild")
    grandchild = int(out.getvalue().split("pids", 1)[1].split()[0])
    assert child.pid is not None and _alive(grandchild)

    child.stop(timeout_s=10)

    assert not child.running()
    wait_until(lambda: not _alive(grandchild), 10, "the grandchild's end")


def test_a_child_that_dies_while_starting_fails_fast_with_its_exit_code() -> None:
    child = ServiceProcess(
        "crasher",
        [sys.executable, "-c", "raise SystemExit(3)"],
        {},
        LogMux(io.StringIO(), colour=False),
        ready=lambda: False,
    )
    with pytest.raises(ProcessFailed, match="crasher exited with code 3"):
        child.start(timeout_s=600)  # not a timeout: the death is noticed, not waited out
