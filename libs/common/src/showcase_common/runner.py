"""The one way a service lives: settings → logging → ports → build → serve and consume → drain.

Every service's `__main__` is `run(<Name>Settings, ports, build)`. Its `bootstrap.py` is the
composition root: `ports(settings) -> <Name>Ports` makes the real adapters and connects nothing
(`<Name>Ports` is a dataclass subclass of `Ports`, whose `nats` field is the link the runner
opens), and `build(settings, ports) -> Service` is a pure function of the settings and the ports
it is given: it wires objects and touches nothing (no file, no directory, no socket; what must
exist before serving is made by its `prepare` steps). Unit tests call it with `Fake<Name>Ports`
from `tests/support/ports`.
`Service` says what to serve and what to run:

- `app`: the service's own routes (None: only health and metrics); the runner adds `/healthz`,
  `/readyz` over `checks` (`showcase_common.health`) and serves it with the one uvicorn
  configuration (`showcase_common.serving.server_config`);
- `workers`: loops started at once (outbox relays, catch-up), each given the stop event;
- `consumers`: `ConsumerSpec`s (`showcase_common.bus.spec`), the handler tables the runner runs
  as consumers once NATS is up and the stream declared;
- `on_nats`: other loops started once NATS is up (the gateway's bucket watch, the syncer's first
  generation); the link, when the ports have one, is opened even when there are none (a
  service that only publishes); a service that never needs NATS has no link;
- `closers`: run last, in reverse order, after the workers have settled what they held;
- `prepare`: start-up steps, run by `running` before any worker starts or HTTP is served (so
  in-process tests run them too): intake checks and migrates its index, the agent makes its data
  directories and reads what it serves, the syncer makes its staging directory; one that raises
  `CannotStart` stops the process with its message, which says what to do;
- `commands`: subcommands (`python -m intake seed`) run instead of serving.

Every process exempts what its start-up built from garbage collection (`gc.freeze`) before it
serves (`freeze_start_up_heap`), so that a full collection does not stall every request.

SIGTERM/SIGINT set the stop event: HTTP stops, workers finish the message in hand, closers run,
the NATS connection drains. A `Service` with no `listen_port` serves no HTTP (the admin alerter).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette

from showcase_common.health import (
    Check,
    EmbeddedServer,
    Info,
    add_health_routes,
    create_health_app,
)
from showcase_common.lifecycle import CannotStart, stop_on_signals
from showcase_common.logs import configure_logging
from showcase_common.serving import server_config
from showcase_common.settings import CommonSettings

if TYPE_CHECKING:  # nats-py is imported only by a service that uses NATS (not an agent)
    from showcase_common.bus.link import NatsLink
    from showcase_common.bus.spec import ConsumerSpec

__all__ = [
    "CannotStart",
    "Ports",
    "Service",
    "Worker",
    "http_app",
    "in_process_app",
    "nats_link",
    "run",
    "running",
    "serve",
    "server",
]

log = logging.getLogger(__name__)

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, object]]
Closer = Callable[[], Awaitable[object]]
Step = Callable[[], None]


@dataclass(kw_only=True)
class Ports:
    """Base of every service's `<Name>Ports`: what it talks to. `nats` is the link the runner
    opens (None: a service without NATS, or a unit test's fakes)."""

    nats: NatsLink | None = None


S = TypeVar("S", bound=CommonSettings)
P = TypeVar("P", bound=Ports)


@dataclass
class Service:
    """What a service's `build` returns: everything the runner serves, runs and stops."""

    name: str
    listen_host: str = "127.0.0.1"
    listen_port: int | None = None
    """The TCP port HTTP is served on (its setting: `INTAKE_PORT`, `SYNCER_PORT`, …). None: no
    HTTP at all (the admin alerter), the service runs until a signal. (Not to be confused with
    the ports a service is built from: those are its adapters, `<Name>Ports`.)"""
    app: Starlette | None = None
    """A Starlette app: FastAPI's (intake, the gateway) or a plain one (the agent)."""
    checks: Mapping[str, Check] = field(default_factory=dict)
    workers: Sequence[Worker] = field(default_factory=list)
    consumers: Sequence[ConsumerSpec] = field(default_factory=list)
    """Handler tables the runner consumes with once NATS is up."""
    on_nats: Sequence[Worker] = field(default_factory=list)
    closers: Sequence[Closer] = field(default_factory=list)
    prepare: Sequence[Step] = field(default_factory=list)
    """Start-up steps (`running` runs them first); `CannotStart` stops the process with its
    message."""
    commands: Mapping[str, Step] = field(default_factory=dict)
    """`python -m <service> <name>` runs one of these instead of serving."""
    readiness_timeout_s: float = 5.0
    """A check that has not answered by then is reported "timeout"."""
    readiness_info: Info | None = None
    """Extra, informational fields of the `/readyz` answer (`showcase_common.health.Info`)."""
    server_options: dict[str, Any] = field(default_factory=dict)
    """Passed on to uvicorn (`proxy_headers`, `ws`, …)."""


def nats_link(settings: CommonSettings, buckets: Sequence[str] = (), **options: Any) -> NatsLink:
    """The service's connection to NATS, not yet opened (`Service.on_nats` waits for it)."""
    from showcase_common.bus.link import NatsLink

    return NatsLink(
        settings.nats_url,
        settings.service_name,
        replicas=settings.nats_replicas,
        buckets=buckets,
        **options,
    )


def run(
    settings_type: Callable[[], S],
    ports: Callable[[S], P],
    build: Callable[[S, P], Service],
    argv: Sequence[str] | None = None,
    *,
    usage: str | None = None,
    commands: Mapping[str, Step] | None = None,
) -> int:
    """`python -m <service> [command]`: read settings, log, make the real ports, build; then run
    the command named (the `Service`'s), or prepare, serve until a signal and drain. Answers
    the exit status. `-h`/`--help` prints `usage`, and `commands` (which need no settings: the
    syncer's `keygen`) run, before any setting is read."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = usage or f"usage: python -m {build.__module__.partition('.')[0]}"
    if argv in (["-h"], ["--help"]):
        print(usage)
        return 0
    if len(argv) == 1 and commands and argv[0] in commands:
        commands[argv[0]]()
        return 0
    settings = settings_type()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    made = ports(settings)
    service = build(settings, made)
    if len(argv) > 1 or (argv and argv[0] not in service.commands):
        print(usage, file=sys.stderr)
        return 2
    try:
        if argv:
            service.commands[argv[0]]()
        else:
            asyncio.run(_main(settings, service, made.nats))
    except CannotStart as exc:
        print(f"{service.name}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _main(settings: CommonSettings, service: Service, link: NatsLink | None) -> None:
    freeze_start_up_heap()
    stop = asyncio.Event()
    stop_on_signals(stop)
    await serve(settings, service, stop, link=link)


def freeze_start_up_heap() -> None:
    """Collect what start-up left as garbage, then exempt every object alive from the
    collector (`gc.freeze`): modules, classes, the app and its routes live as long as the
    process, and a full collection need not walk them again and again. Measured in intake
    under 16 clients: a full collection walking them took 110–160 ms with every request stalled
    behind it (the p99's largest part), 10–14 ms frozen (docs/performance.md). Done in the
    process only (`run`), never in an in-process test, whose heap is the test run's."""
    gc.collect()
    gc.freeze()


def http_app(service: Service) -> Starlette:
    """The service's app with health and readiness added (or health alone)."""
    if service.app is None:
        return create_health_app(
            service.checks, title=service.name, timeout_s=service.readiness_timeout_s
        )
    add_health_routes(
        service.app,
        service.checks,
        timeout_s=service.readiness_timeout_s,
        info=service.readiness_info,
    )
    return service.app


def server(
    settings: CommonSettings, service: Service, *, listen_port: int | None = None
) -> EmbeddedServer:
    """uvicorn for the service (tests pass `listen_port=0` for a free one); the runner owns
    signals."""
    listen_port = service.listen_port if listen_port is None else listen_port
    if listen_port is None:
        raise ValueError(f"{service.name} serves no HTTP")
    config = server_config(
        http_app(service),
        host=service.listen_host,
        port=listen_port,
        limits=settings.http_limits,
        **({"lifespan": "on"} | service.server_options),
    )
    return EmbeddedServer(config)


async def serve(
    settings: CommonSettings,
    service: Service,
    stop: asyncio.Event,
    *,
    link: NatsLink | None = None,
    http: EmbeddedServer | None = None,
) -> None:
    """Serve HTTP and run the workers until `stop`, then drain (see the module's docstring)."""
    if http is None and service.listen_port is None:
        async with running(service, link, stop=stop):
            log.info("%s running (no HTTP)", service.name)
            await stop.wait()
        return
    http = http or server(settings, service)
    async with running(service, link, stop=stop):
        web = asyncio.create_task(http.serve(), name=f"{service.name}-http")
        log.info("%s serving on %s:%s", service.name, service.listen_host, http.config.port)
        try:
            await _first(stop, web)
        finally:
            stop.set()
            http.should_exit = True
            await web


@contextlib.asynccontextmanager
async def running(
    service: Service,
    link: NatsLink | None = None,
    *,
    stop: asyncio.Event | None = None,
    workers: bool = True,
) -> AsyncIterator[asyncio.Event]:
    """The service's life without its HTTP server: the `prepare` steps first, then the workers,
    the link (connected in the background, as long as NATS takes) and, once it is up, the NATS
    workers; on leaving, the workers settle, the closers run and the link drains.
    `workers=False` runs no worker (unit tests drive the loops by hand). Yields the stop event."""
    stop = stop or asyncio.Event()
    if workers and (service.on_nats or service.consumers) and link is None:
        raise ValueError(f"{service.name} has NATS workers but no NATS link")
    for step in service.prepare:
        step()
    tasks: list[asyncio.Task[Any]] = []
    if workers:
        tasks += [asyncio.create_task(worker(stop)) for worker in service.workers]
    if link is not None:
        consumers = [_consumer(spec, link) for spec in service.consumers]
        on_nats = [*service.on_nats, *consumers] if workers else []
        tasks.append(asyncio.create_task(_when_connected(link, on_nats, stop)))
    try:
        yield stop
    finally:
        stop.set()
        await _settle(tasks)
        for closer in reversed(service.closers):
            try:
                await closer()
            except Exception as exc:
                log.warning("%s: error while stopping: %s", service.name, exc)
        if link is not None:
            await link.close()


def in_process_app(
    service: Service, link: NatsLink | None = None, *, workers: bool = True
) -> Starlette:
    """`http_app(service)` whose lifespan runs the service (`running`) inside the app's own:
    for tests that drive a service in-process (ASGI transport, TestClient, a uvicorn thread)."""
    app = http_app(service)
    own = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: Starlette) -> AsyncIterator[None]:
        async with own(app_), running(service, link, workers=workers):
            yield

    app.router.lifespan_context = lifespan
    return app


def _consumer(spec: ConsumerSpec, link: NatsLink) -> Worker:
    """A NATS worker that runs `spec`'s consumer on the link (up by the time it starts)."""

    async def consume(stop: asyncio.Event) -> None:
        await spec.run(link.jetstream(), stop)

    return consume


async def _when_connected(link: NatsLink, workers: Sequence[Worker], stop: asyncio.Event) -> None:
    if not await link.run(stop):
        return  # stopped before NATS ever answered
    await asyncio.gather(*(worker(stop) for worker in workers))


async def _first(stop: asyncio.Event, web: asyncio.Task[None]) -> None:
    """Until a signal, or until the HTTP server ends by itself (it could not bind)."""
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({stopped, web}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if web.done():
        web.result()


async def _settle(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        try:
            await task
        except Exception:
            log.exception("a worker failed while stopping")
        except asyncio.CancelledError:
            pass
