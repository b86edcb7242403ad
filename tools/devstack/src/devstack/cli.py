"""`python -m devstack`: the whole pipeline on this machine, until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from devstack.config import StackConfig, machine_kind
from devstack.output import LogMux
from devstack.process import ProcessFailed
from devstack.stack import PortInUse, Stack

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def run(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where NATS, S3, the index, the agents and mail keep their data "
            "[env DEVSTACK_DATA_DIR; default .data]"
        ),
    ] = None,
    log_json: Annotated[
        bool | None, typer.Option("--log-json/--log-text", help="Service log format [env LOG_JSON]")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every /healthz")] = 180.0,
    machines: Annotated[
        str | None,
        typer.Option(
            help="The three local machines: 'agent' (machine agents) or 'update_config' "
            "(stand-ins of the Rails machines as they are: navigator's update_config CGI and "
            "the pages, updated with the gzipped index, nothing installed) "
            "[env DEVSTACK_MACHINES; default agent]"
        ),
    ] = None,
) -> None:
    """Start NATS, S3, an SMTP sink, seed the index, start every service and three machine
    agents, print the URLs and logins, and stop it all on Ctrl-C (SIGINT) or SIGTERM.

    Ports are the contract's defaults, each overridable by its environment variable:
    INTAKE_PORT (8000), GATEWAY_PORT (8001), SYNCER_PORT (8002), UPDATER_PORT (8003),
    NATS_PORT (4222), NATS_MONITOR_PORT (8222), S3_PORT (9000), SMTP_PORT (1025),
    AGENT_PORTS ("8101,8102,8103") or AGENT_BASE_PORT (8101).
    NATS_CLUSTER=3 runs three clustered nats-servers instead of one (client ports NATS_PORT +0,
    +1, +2; monitoring NATS_MONITOR_PORT +0..2; routes NATS_ROUTE_PORT (6222) +0..2), with
    every stream and bucket at three replicas.
    FLEET_FILE, when set, is the updater's fleet (stand-ins or real machines, any protocol):
    the local run then starts no machines of its own.
    """
    try:
        kind = machine_kind(machines) if machines is not None else None
        config = StackConfig.from_env(data_dir=data_dir, log_json=log_json, machines=kind)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    mux = LogMux()
    stack = Stack(config, mux)
    stop = threading.Event()
    _on_signals(stop)
    try:
        stack.start(timeout_s=timeout)
        mux.line("devstack", stack.summary())
        stop.wait()
    except (ProcessFailed, PortInUse) as exc:
        mux.line("devstack", f"error: {exc}")
        raise typer.Exit(1) from exc
    except _Interrupted:
        pass  # a signal during start-up: fall through to the orderly stop
    finally:
        _ignore_signals()  # a second Ctrl-C must not cut the orderly stop short
        mux.line("devstack", "stopping…")
        stack.stop()
        mux.line("devstack", "stopped")


class _Interrupted(BaseException):
    """Raised in the main thread by a signal that arrives while the stack is starting."""


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        already = stop.is_set()
        stop.set()
        if not already:
            raise _Interrupted(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def _ignore_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def main() -> None:
    app(prog_name="python -m devstack")
