"""The Rails machines' own update endpoint, spoken as the Rails job speaks it (nothing installed).

rubys/showcase `script/config-update` POSTs the gzipped `index.sqlite3` to
`https://smooth.fly.dev/showcase/update_config` with `Fly-Force-Instance-Id: <machine id>`,
`Content-Type: application/vnd.sqlite3`, `Content-Encoding: gzip` and `X-Update-Time: <ISO
time>`; the Kamal server takes it at `/update_config`. On the machine navigator runs
`script/update_configuration.rb` as a CGI, which writes its headers (200, text/plain) BEFORE any
work, then streams a log ending in `Configuration update COMPLETED successfully` or
`Configuration update FAILED (…)`. The status is 200 either way: only the log tells, so this
adapter reads it line by line and judges by those lines (the Rails job took any 200 as success).

These machines have no `/showcase/status`: the generation a machine serves is what its last
completed update here gave it (kept in memory: a machine already sent a generation is not sent
it again; after an updater restart it is, which the script takes as often as it is sent), and
the truth check then reads its pages (the CGI's log says nothing of them).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import httpx
from showcase_common.events import Snapshot
from showcase_common.replay import PageAnswer

from machine_updater.bodies import SnapshotBodies
from machine_updater.client import (
    MachineError,
    MachineRefused,
    Updated,
    page_answer,
    transport_errors,
)
from machine_updater.fleet import Machine

log = logging.getLogger(__name__)

COMPLETED = "Configuration update COMPLETED successfully"
FAILED = "Configuration update FAILED"
CONTENT_TYPE = "application/vnd.sqlite3"
MAX_LOG_LINES = 20_000
"""A log longer than this is not the script's: stop reading (the verdict is then a failure)."""
TAIL_LINES = 5


@dataclass(frozen=True)
class LogVerdict:
    completed: bool
    failed_line: str | None
    tail: tuple[str, ...]

    def error(self) -> str | None:
        """Why the update did not succeed, naming the line that said so; None when it did."""
        if self.failed_line is not None:
            return f"update_config said: {self.failed_line}{self._before()}"
        if not self.completed:
            last = self.tail[-1] if self.tail else "(an empty answer)"
            return f"update_config's log ended without '{COMPLETED}' (last line: {last})"
        return None

    def _before(self) -> str:
        errors = [line for line in self.tail if "ERROR" in line]
        return f" (after: {errors[-1]})" if errors else ""


async def read_log(lines: AsyncIterator[str], on_line: Callable[[str], None]) -> LogVerdict:
    """Read the streamed log to its end; a FAILED line wins over a COMPLETED one."""
    completed, failed_line = False, None
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    count = 0
    async for raw in lines:
        line = raw.rstrip("\r\n")
        count += 1
        if count > MAX_LOG_LINES:
            break
        on_line(line)
        if not line.strip():
            continue
        tail.append(line.strip())
        if FAILED in line and failed_line is None:
            failed_line = line.strip()
        elif COMPLETED in line:
            completed = True
    return LogVerdict(completed and failed_line is None, failed_line, tuple(tail))


class UpdateConfigClient:
    """The `update_config` protocol behind the `MachineClient` port."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        bodies: SnapshotBodies,
        *,
        read_timeout_s: float = 75.0,
        probe_timeout_s: float = 5.0,
        connect_timeout_s: float = 3.0,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._http = http
        self._bodies = bodies
        # The read timeout is per read: a script that keeps logging keeps the call alive; the
        # machine's deadline bounds the whole.
        self._update_timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._probe_timeout = httpx.Timeout(probe_timeout_s, connect=connect_timeout_s)
        self._now = now
        self.served: dict[str, int] = {}
        """Machine id → the newest generation an update here completed on it."""

    async def status(self, machine: Machine) -> int | None:
        return self.served.get(machine.id)

    async def update(
        self, machine: Machine, snapshot: Snapshot, showcase_ids: Sequence[int] = ()
    ) -> Updated:
        served = self.served.get(machine.id)
        if served is not None and served >= snapshot.generation:
            return Updated(served, applied=False)
        await self._send(machine, snapshot)
        self.served[machine.id] = max(snapshot.generation, self.served.get(machine.id, 0))
        return Updated(snapshot.generation)

    async def _send(self, machine: Machine, snapshot: Snapshot) -> None:
        """POST the gzipped index; returns when the streamed log says it completed."""
        body = await self._bodies.gzipped(snapshot)
        path = machine.update_path
        headers = {
            **machine.headers,  # Fly-Force-Instance-Id on Fly
            "Content-Type": CONTENT_TYPE,
            "Content-Encoding": "gzip",
            "X-Update-Time": self._now().strftime("%Y-%m-%dT%H:%M:%SZ"),  # Ruby's Time#iso8601
        }
        with transport_errors("POST", path):
            async with self._http.stream(
                "POST",
                f"{machine.url}{path}",
                content=body,
                headers=headers,
                timeout=self._update_timeout,
            ) as response:
                _raise_for_status(response.status_code, path, await _start(response))
                verdict = await read_log(
                    response.aiter_lines(), lambda line: log.info("[%s] %s", machine.id, line)
                )
        if (error := verdict.error()) is not None:
            raise MachineError(error, "command_failed")

    async def page(self, machine: Machine, path: str) -> PageAnswer:
        return await page_answer(self._http, machine, path, self._probe_timeout)

    async def rollback(self, machine: Machine, snapshot: Snapshot, actor: str) -> int:
        """The Rails CGI takes whatever index it is sent (it has no generations and no
        authorisation of its own): a rollback is an update with the older index."""
        await self._send(machine, snapshot)
        self.served[machine.id] = snapshot.generation
        return snapshot.generation


async def _start(response: httpx.Response) -> str:
    """The start of a non-200 answer's body (for the error); nothing is read from a 200."""
    if response.status_code == 200:
        return ""
    text = (await response.aread())[:300]
    return text.decode(errors="replace").strip()


def _raise_for_status(code: int, path: str, body: str) -> None:
    if code == 200:
        return
    detail = f"POST {path} answered {code}: {body or '(no body)'}"
    # No such endpoint, or navigator wants a login there: asking again will not change it.
    if code in (401, 403, 404, 405):
        raise MachineRefused(f"refused the update ({detail})")
    raise MachineError(f"failed ({detail})", "timeout" if code == 504 else "unknown")
