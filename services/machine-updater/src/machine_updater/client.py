"""Talking to one machine agent: the port, its httpx adapter, and the errors by category.

The agent API (docs/ARCHITECTURE.md): `GET /showcase/status` → {"generation", ...};
`POST /showcase/update_config` with the Bearer secret and a Snapshot body → {"generation",
"changed", "pages", ...} (`changed` false: it already served the generation, a no-op; `pages`:
how the new showcases' pages answered on the machine right after, by its own check); the
showcase pages themselves. Every call carries the machine's own headers, which on Fly is
`Fly-Force-Instance-Id`, so one public URL reaches each machine in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from showcase_common import rollback_auth
from showcase_common.events import FailureReason, Snapshot
from showcase_common.replay import PageAnswer

from machine_updater.fleet import Machine, MachineProtocol


class MachineError(Exception):
    """A call to a machine failed; `retryable` says whether another attempt may succeed, and
    `reason` is the code the failure events carry (the message is their technical detail)."""

    retryable = True
    reason: FailureReason = "unknown"

    def __init__(self, message: str, reason: FailureReason | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class MachineRefused(MachineError):
    """The machine refused for good (a wrong secret, a snapshot it will not accept)."""

    retryable = False
    reason: FailureReason = "machine_refused"


@dataclass(frozen=True)
class Updated:
    """A machine's answer to an update: what it serves now, and what it saw of the new pages."""

    generation: int
    applied: bool = True
    """False: it already served the generation (or a newer one), nothing was applied."""
    pages: Mapping[str, PageAnswer] = field(default_factory=dict)
    """Its own check of the new showcases' pages, by path, right after the update (the agent
    asks its pages itself, saving the updater a round trip per page); empty when it does not
    say (the Rails `update_config` CGI, an agent from before): the updater then asks."""
    apply_s: float = 0.0
    """The machine's own time applying, as it reports it (the agent's `timings.total`; 0 when
    it does not say): the rest of the call is its distance."""


class MachineClient(Protocol):
    """The port: what the roll-out needs of a machine."""

    async def status(self, machine: Machine) -> int | None:
        """The generation the machine serves (None: none yet)."""

    async def update(
        self, machine: Machine, snapshot: Snapshot, showcase_ids: Sequence[int] = ()
    ) -> Updated:
        """Ask the machine to apply `snapshot` (published for these showcases), which it does
        only when it serves an older generation."""

    async def page(self, machine: Machine, path: str) -> PageAnswer:
        """How it answers one of its pages (its status, and the region of a fly-replay)."""

    async def rollback(self, machine: Machine, snapshot: Snapshot, actor: str) -> int:
        """Take the machine back to `snapshot`, an older generation, on `actor`'s authority;
        the generation it serves afterwards."""


class HttpMachineClient:
    """The machine agent's protocol (docs/ARCHITECTURE.md, "machine-agent HTTP").

    An update is one call, without a status read before it (the agent answers a generation it
    already serves as a no-op). An update may rightly take a minute, so its own timeout cannot
    tell a slow machine from a hung one: while it runs past `probe_timeout_s`, the machine's
    status is asked every `probe_timeout_s`, and a machine that cannot answer that either is
    given up on at once (a hung machine fails in seconds, not after `update_timeout_s`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        secret: str,
        *,
        update_timeout_s: float = 75.0,
        probe_timeout_s: float = 5.0,
        connect_timeout_s: float = 3.0,
    ) -> None:
        self._http = http
        self._secret = secret
        self._update_timeout = httpx.Timeout(update_timeout_s, connect=connect_timeout_s)
        self._probe_timeout = httpx.Timeout(probe_timeout_s, connect=connect_timeout_s)

    async def status(self, machine: Machine) -> int | None:
        response = await self._call(machine, "GET", "/showcase/status", self._probe_timeout)
        _raise_for_status(response, "status")
        generation = _json(response).get("generation")
        return int(generation) if generation is not None else None

    async def update(
        self, machine: Machine, snapshot: Snapshot, showcase_ids: Sequence[int] = ()
    ) -> Updated:
        body = snapshot.model_dump()
        if showcase_ids:  # only then: an agent from before the field still takes the rest
            body["showcase_ids"] = sorted(set(showcase_ids))
        call = self._call(
            machine,
            "POST",
            "/showcase/update_config",
            self._update_timeout,
            json=body,
            headers={"Authorization": f"Bearer {self._secret}"},
        )
        response = await self._while_alive(machine, call)
        if response.status_code == 409:  # it serves a newer generation: that covers ours
            return Updated(await self._served_after_conflict(machine, response), applied=False)
        _raise_for_status(response, "update_config")
        answer = _json(response)
        return Updated(
            int(answer["generation"]),
            applied=answer.get("changed") is not False,
            pages=_page_answers(answer.get("pages")),
            apply_s=_apply_seconds(answer.get("timings")),
        )

    async def page(self, machine: Machine, path: str) -> PageAnswer:
        return await page_answer(self._http, machine, path, self._probe_timeout)

    async def rollback(self, machine: Machine, snapshot: Snapshot, actor: str) -> int:
        body = {
            **snapshot.model_dump(),
            # signed afresh for each attempt: the agent takes only a recent authorisation
            "rollback": rollback_auth.sign(self._secret, snapshot, actor).model_dump(mode="json"),
        }
        response = await self._call(
            machine,
            "POST",
            "/showcase/update_config",
            self._update_timeout,
            json=body,
            headers={"Authorization": f"Bearer {self._secret}"},
        )
        _raise_for_status(response, "update_config (rollback)")
        return int(_json(response)["generation"])

    async def _while_alive(
        self, machine: Machine, call: Awaitable[httpx.Response]
    ) -> httpx.Response:
        """The call's answer; while it is outstanding, the machine must answer its status
        every probe interval, else the call is dropped with the probe's error."""
        task = asyncio.ensure_future(call)
        interval = self._probe_timeout.read or 5.0
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=interval)
                if done:
                    return task.result()
                await self.status(machine)  # raises when the machine cannot answer either
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _served_after_conflict(self, machine: Machine, response: httpx.Response) -> int:
        body = _json(response)
        for key in ("current_generation", "generation", "current"):
            if isinstance(body.get(key), int):
                return int(body[key])
        served = await self.status(machine)
        if served is None:
            raise MachineError("409 from update_config but the machine serves no generation")
        return served

    async def _call(
        self,
        machine: Machine,
        method: str,
        path: str,
        limits: httpx.Timeout,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        with transport_errors(method, path):
            return await self._http.request(
                method,
                f"{machine.url}{path}",
                json=json,
                headers={**machine.headers, **(headers or {})},
                timeout=limits,
            )


class ByProtocol:
    """The port over one adapter per protocol, chosen by each machine's `protocol`: the
    roll-out stays one whatever the machines speak."""

    def __init__(self, adapters: Mapping[MachineProtocol, MachineClient]) -> None:
        self._adapters = dict(adapters)

    def _of(self, machine: Machine) -> MachineClient:
        adapter = self._adapters.get(machine.protocol)
        if adapter is None:
            raise MachineRefused(f"no adapter for protocol {machine.protocol!r}")
        return adapter

    async def status(self, machine: Machine) -> int | None:
        return await self._of(machine).status(machine)

    async def update(
        self, machine: Machine, snapshot: Snapshot, showcase_ids: Sequence[int] = ()
    ) -> Updated:
        return await self._of(machine).update(machine, snapshot, showcase_ids)

    async def page(self, machine: Machine, path: str) -> PageAnswer:
        return await self._of(machine).page(machine, path)

    async def rollback(self, machine: Machine, snapshot: Snapshot, actor: str) -> int:
        return await self._of(machine).rollback(machine, snapshot, actor)


async def page_answer(
    http: httpx.AsyncClient, machine: Machine, path: str, limits: httpx.Timeout
) -> PageAnswer:
    """GET one page from the machine itself (redirects not followed: a fly-replay is an answer)."""
    with transport_errors("GET", path):
        response = await http.get(
            f"{machine.url}{path}", headers=dict(machine.headers), timeout=limits
        )
    return PageAnswer.of(
        response.status_code, response.headers.get("content-type"), response.content
    )


@contextlib.contextmanager
def transport_errors(method: str, path: str) -> Iterator[None]:
    """httpx's timeouts and connection failures as retryable `MachineError`s, by reason."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise MachineError(
            f"did not answer in time ({method} {path}: {type(exc).__name__})", "timeout"
        ) from exc
    except httpx.TransportError as exc:
        raise MachineError(
            f"could not be reached ({method} {path}: {type(exc).__name__}: {exc})",
            "machine_unreachable",
        ) from exc


DETAIL_LIMIT = 2000
"""An agent's `detail` can carry the tail of a failed command's output: keep it readable."""


def _raise_for_status(response: httpx.Response, what: str) -> None:
    code = response.status_code
    if code < 300:
        return
    detail = f"{what} answered {code}: {_detail(response)}"
    # 401 (wrong secret) and 422 (snapshot refused) will not change by asking again;
    # 5xx (the agent's store is down, a proxy error) and 404/409 races may.
    if code in (401, 403, 422):
        raise MachineRefused(f"refused the update ({detail})")
    raise MachineError(f"failed ({detail})", _AGENT_REASONS.get(code))


_AGENT_REASONS: dict[int, FailureReason] = {
    500: "command_failed",  # the agent's install or the machine's own commands
    503: "storage_unavailable",  # the agent could not download the snapshot
    504: "timeout",  # the machine's commands outran the agent's timeout
}
"""How the agent's update endpoint answers each failure (machine_agent.api)."""


def _detail(response: httpx.Response) -> str:
    """The agent's own `detail` (newlines kept) when it sent one, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])[-DETAIL_LIMIT:]
    return response.text[:200]


def _page_answers(reported: object) -> dict[str, PageAnswer]:
    """The agent's `pages` ({path: {"status", "replay_region"}}); what is not well formed is
    left out (the updater then asks that page itself)."""
    if not isinstance(reported, dict):
        return {}
    answers = {}
    for path, answer in reported.items():
        if not isinstance(answer, dict) or not isinstance(answer.get("status"), int):
            continue
        region = answer.get("replay_region")
        answers[str(path)] = PageAnswer(
            answer["status"], region if isinstance(region, str) else None
        )
    return answers


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise MachineError(f"answer is not JSON: {response.text[:200]}") from exc
    if not isinstance(body, dict):
        raise MachineError(f"unexpected answer: {body!r}")
    return body


def _apply_seconds(timings: object) -> float:
    """`timings.total` of an agent's answer, or 0 when it is missing or not a number."""
    total = timings.get("total") if isinstance(timings, dict) else None
    return float(total) if isinstance(total, int | float) and total >= 0 else 0.0
