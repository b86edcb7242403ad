"""A fake Fly.io: the Machines API and the app's public URL, as one real HTTP server.

    fly = FakeFly(app="showcase", token="fly-token").start()   # uvicorn in a thread, free port
    fly.add("e2865", "ord", agent.url)                           # a machine backed by a local agent
    fly.set_state("e2865", "stopped")
    fly.api_url, fly.app_url                                     # FLY_API_URL, FLY_APP_URL
    fly.calls("e2865", "POST", "/showcase/update_config")        # requests proxied to it so far
    fly.hold_updates_until = 3                                   # see below
    fly.max_concurrent_updates                                   # most update calls at once

`GET /v1/apps/{app}/machines` answers with a bearer token, in the API's JSON shape. Every other
request is the app's public URL: the `Fly-Force-Instance-Id` header picks the machine (without
it, the first started one, as Fly's proxy would balance), and the request is forwarded to the
local agent behind it. A machine that is not started answers 503, as nothing serves it.

Parallelism is proven by counting, not timing: with `hold_updates_until = n`, an update call is
held until n of them are in flight at once (or 10 s pass), so a caller that sent them one after
another shows `max_concurrent_updates == 1` instead of n.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Header, HTTPException, Request, Response

FORCE_INSTANCE = "fly-force-instance-id"
UPDATE_PATH = "showcase/update_config"


@dataclass
class FlyMachine:
    id: str
    region: str
    backend_url: str
    state: str = "started"
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def as_api(self, app: str, index: int) -> dict[str, object]:
        """One entry of `GET /v1/apps/{app}/machines`, shaped as Fly answers it."""
        return {
            "id": self.id,
            "name": f"{app}-{index}",
            "state": self.state,
            "region": self.region,
            "instance_id": f"01J{self.id.upper()}",
            "private_ip": f"fdaa:0:1:a7b:{index}::2",
            "config": {
                "image": f"registry.fly.io/{app}:deployment-1",
                "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 1024},
                "services": [{"protocol": "tcp", "internal_port": 3000}],
            },
            "image_ref": {
                "registry": "registry.fly.io",
                "repository": app,
                "tag": "deployment-1",
                "digest": "sha256:" + "0" * 64,
            },
            "created_at": self.created_at,
            "updated_at": dt.datetime.now(dt.UTC).isoformat(),
        }


class FakeFly:
    def __init__(self, app: str = "showcase-test", token: str = "fly-test-token") -> None:
        self.app_name = app
        self.token = token
        self.machines: dict[str, FlyMachine] = {}
        self.proxied: list[tuple[str, str, str]] = []
        """(machine id, method, path) of every request forwarded to an agent."""
        self.list_calls = 0
        self.hold_updates_until = 0
        self.max_concurrent_updates = 0
        self._updates_in_flight = 0
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- the fleet ----------------------------------------------------------------------------

    def add(self, machine_id: str, region: str, backend_url: str, state: str = "started") -> None:
        with self._lock:
            self.machines[machine_id] = FlyMachine(machine_id, region, backend_url, state)

    def set_state(self, machine_id: str, state: str) -> None:
        with self._lock:
            self.machines[machine_id].state = state

    def calls(self, machine_id: str, method: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for mid, m, p in self.proxied
                if mid == machine_id and method in (None, m) and path in (None, p)
            )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the server ---------------------------------------------------------------------------

    def start(self) -> FakeFly:
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-fly", daemon=True)
        self._thread.start()
        self._wait_started()
        return self

    def _wait_started(self) -> None:
        assert self._server is not None and self._thread is not None
        # `started` flips once the socket listens; the thread dying first means it failed.
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("fake Fly server did not start")
            self._thread.join(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        http = httpx.AsyncClient(timeout=httpx.Timeout(120, connect=3))
        held = asyncio.Event()

        @app.get("/v1/apps/{app_name}/machines")
        async def list_machines(
            app_name: str, authorization: str | None = Header(default=None)
        ) -> list[dict[str, object]]:
            if authorization != f"Bearer {self.token}":
                raise HTTPException(401, {"error": "unauthorized"})
            if app_name != self.app_name:
                raise HTTPException(404, {"error": "app not found"})
            with self._lock:
                self.list_calls += 1
                return [m.as_api(app_name, i) for i, m in enumerate(self.machines.values())]

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "HEAD"])
        async def public_url(path: str, request: Request) -> Response:
            machine = self._route(request.headers.get(FORCE_INSTANCE))
            with self._lock:
                self.proxied.append((machine.id, request.method, "/" + path))
            if request.method == "POST" and path == UPDATE_PATH:
                return await self._update(http, machine, request, held)
            return await _forward(http, machine.backend_url, request)

        return app

    async def _update(
        self, http: httpx.AsyncClient, machine: FlyMachine, request: Request, held: asyncio.Event
    ) -> Response:
        self._updates_in_flight += 1
        self.max_concurrent_updates = max(self.max_concurrent_updates, self._updates_in_flight)
        try:
            if self._updates_in_flight >= self.hold_updates_until:
                held.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(held.wait(), 10)
            return await _forward(http, machine.backend_url, request)
        finally:
            self._updates_in_flight -= 1

    def _route(self, wanted: str | None) -> FlyMachine:
        with self._lock:
            if wanted is None:
                started = [m for m in self.machines.values() if m.state == "started"]
                if not started:
                    raise HTTPException(503, "no machine is started")
                return started[0]
            machine = self.machines.get(wanted)
        if machine is None:
            raise HTTPException(404, f"no machine {wanted}")
        if machine.state != "started":
            raise HTTPException(503, f"machine {wanted} is {machine.state}")
        return machine


async def _forward(http: httpx.AsyncClient, base: str, request: Request) -> Response:
    headers = {
        k: v for k, v in request.headers.items() if k.lower() not in {"host", FORCE_INSTANCE}
    }
    try:
        answer = await http.request(
            request.method,
            base + request.url.path,
            params=request.query_params,
            content=await request.body(),
            headers=headers,
        )
    except httpx.TransportError as exc:  # the machine behind is down: Fly's proxy says 502
        return Response(f"could not reach the machine: {exc}", status_code=502)
    drop = {"content-length", "transfer-encoding", "connection", "content-encoding"}
    kept = {k: v for k, v in answer.headers.items() if k.lower() not in drop}
    return Response(answer.content, status_code=answer.status_code, headers=kept)


@pytest.fixture
def fake_fly() -> Iterator[FakeFly]:
    fly = FakeFly().start()
    try:
        yield fly
    finally:
        fly.stop()
