"""intake with timing probes, for `bench/intake_load.py --trace` (diagnosis: the probes cost CPU).

    <intake's python> bench/intake_probes.py OUT.json        (instead of `python -m intake`)

Runs `python -m intake` unchanged, with these of its events timed on time.monotonic() (the
bench's clock) and written to OUT.json as [kind, start, end, detail] when it exits:

- `gc<generation>`: every garbage collection (`gc.callbacks`), and the thread it ran in;
- `loop`: every event-loop iteration longer than 3 ms (what held the loop, and for how long);
- `batch`: every group-commit batch of the writer thread (`n`: its submissions), `call`: every
  piece of work it ran alone (`fn`: which);
- `showcases_yml`: every showcases.yml render and write, `relay`: every outbox relay pass;
- `arrive`: when a request's first bytes reached intake's HTTP protocol, `request`: when its
  app started and finished, each named by its X-Request-ID (`rid`).

A probe whose target an older checkout lacks (run with `--intake-python`) is left out.
"""

from __future__ import annotations

import asyncio.base_events
import atexit
import contextlib
import functools
import gc
import importlib
import json
import re
import runpy
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

Event = tuple[str, float, float, dict[str, Any]]
EVENTS: list[Event] = []
LONG_LOOP_S = 0.003
_REQUEST_ID = re.compile(rb"x-request-id: *([A-Za-z0-9._:-]+)", re.IGNORECASE)


def record(kind: str, start: float, detail: dict[str, Any] | None = None) -> None:
    EVENTS.append((kind, start, time.monotonic(), detail or {}))


def probe_collections() -> None:
    started: dict[int, float] = {}

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[threading.get_ident()] = time.monotonic()
        elif (start := started.pop(threading.get_ident(), None)) is not None:
            thread = threading.current_thread().name
            record(f"gc{info['generation']}", start, {"thread": thread})

    gc.callbacks.append(timed)


def probe_loop() -> None:
    loop_type: Any = asyncio.base_events.BaseEventLoop
    run_once = loop_type._run_once

    def timed(self: Any) -> None:
        start = time.monotonic()
        run_once(self)
        if time.monotonic() - start > LONG_LOOP_S:
            record("loop", start)

    loop_type._run_once = timed


def probe(
    module: str, owner: str, name: str, kind: str, detail: Callable[..., dict[str, Any]] | None
) -> None:
    """Time `owner.name` of `module` (a method, or a function when `owner` is empty)."""
    try:
        target: Any = importlib.import_module(module)
        if owner:
            target = getattr(target, owner)
        original = getattr(target, name)
    except (ImportError, AttributeError):
        return  # not in this checkout
    if owner and asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return await original(*args, **kwargs)
            finally:
                record(kind, start)

        setattr(target, name, timed_async)
        return

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            record(kind, start, detail(*args) if detail else None)

    setattr(target, name, timed)


def probe_http() -> None:
    """When each request's bytes arrive (uvicorn's h11 protocol) and how long its app runs."""
    with contextlib.suppress(ImportError, AttributeError):
        from uvicorn.protocols.http.h11_impl import H11Protocol

        received = H11Protocol.data_received

        def arrived(self: H11Protocol, data: bytes) -> None:
            now = time.monotonic()
            for found in _REQUEST_ID.finditer(data):
                EVENTS.append(("arrive", now, now, {"rid": found.group(1).decode()}))
            received(self, data)

        H11Protocol.data_received = arrived  # type: ignore[method-assign]  # the probe
    with contextlib.suppress(ImportError, AttributeError):
        bootstrap: Any = importlib.import_module("intake.bootstrap")
        intake_app = bootstrap.intake_app

        def timed_app(*args: Any) -> Any:
            app = intake_app(*args)
            build_stack = app.build_middleware_stack

            def stack() -> Any:
                inner = build_stack()

                async def timed(scope: Any, receive: Any, send: Any) -> None:
                    start = time.monotonic()
                    try:
                        await inner(scope, receive, send)
                    finally:
                        if scope["type"] == "http":
                            headers = dict(scope["headers"])
                            rid = headers.get(b"x-request-id", b"").decode()
                            record("request", start, {"rid": rid, "path": scope["path"]})

                return timed

            app.build_middleware_stack = stack
            return app

        bootstrap.intake_app = timed_app


def install() -> None:
    probe_collections()
    probe_loop()
    probe(
        "intake.group_commit",
        "WriterLane",
        "_batch",
        "batch",
        lambda _lane, steps: {"n": len(steps)},
    )
    probe("intake.group_commit", "", "_called", "call", lambda work: {"fn": work.fn.__qualname__})
    probe("intake.showcases_file", "ShowcasesFile", "write", "showcases_yml", None)
    probe("intake.relay", "OutboxRelay", "drain", "relay", None)
    probe_http()


def main() -> None:
    out = sys.argv[1]

    def dump() -> None:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(EVENTS, handle)

    atexit.register(dump)
    install()
    sys.argv = ["intake"]
    runpy.run_module("intake", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
