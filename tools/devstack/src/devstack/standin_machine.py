"""A stand-in for one Rails machine of the fleet as it is: navigator and its `update_config` CGI.

    python -m devstack.standin_machine --id local-1 --region iad --port 8101 --data DIR

What it does is what rubys/showcase `script/update_configuration.rb` and rubys/navigator do,
in miniature, over real HTTP:
- `POST /showcase/update_config` (`--path`): the status line and `Content-Type: text/plain`
  go out BEFORE any work (navigator runs a CGI that writes its headers first), then the log is
  streamed line by line, `[ISO time] message`, as the script prints it. The body is the gzipped
  index (`Content-Encoding: gzip`); an unreadable one ends in `Configuration update FAILED
  (database receive failed)`, an empty one in `(database sync failed)` (there is no S3 here), and
  a good one is written to `DIR/index.sqlite3` and ends in `Configuration update COMPLETED
  successfully`. The status stays 200 whatever happens: only the log tells.
- The pages: after an update, each showcase of the index it holds is served at its fleet URL
  (`/showcase/{year}/{location}/{key}/`, a lone `showcase` at the year URL) — `200` when the
  showcase's region (showcases.yml's `:region:`) is this machine's or it has none, and once the
  "prerender" is done (`--page-delay` seconds AFTER the answer, as navigator's post-reload hook
  runs after the CGI answered); another region's page is answered at once with navigator's
  fly-replay (307, `application/vnd.fly.replay+json`, `{"region": …}`). Anything else is 404.
- `GET /healthz` (for the local run's start-up; navigator has its own).

Behaviour switches (`--mode`, or `StandInMachine.mode` in tests): `ok`; `fail` (the script's
htpasswd step fails: `Configuration update FAILED (htpasswd update failed)`); `truncated` (the
log stops before either marker, as a killed script's would); `nopage` (completes, but its pages
never appear).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.server
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from showcase_common.index import (
    Location,
    Region,
    is_lone_showcase,
    page_path,
    region_for,
    served_regions,
)

DEFAULT_PATH = "/showcase/update_config"
REPLAY_TYPE = "application/vnd.fly.replay+json"


@dataclass(frozen=True)
class Received:
    """One update call as the machine got it."""

    headers: dict[str, str]
    body: bytes
    """The request body exactly as sent (gzipped)."""


@dataclass(frozen=True)
class Page:
    name: str
    region: str | None


@dataclass
class StandInMachine:
    machine_id: str
    region: str
    data_dir: Path
    update_path: str = DEFAULT_PATH
    mode: str = "ok"
    page_delay_s: float = 0.0
    replay_to: str | None = None
    """A misconfigured navigator: another region's page replayed to this region instead."""
    received: list[Received] = field(default_factory=list)
    pages: dict[str, Page] = field(default_factory=dict)
    pages_ready_at: float = float("inf")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, headers: dict[str, str], body: bytes, say: Callable[[str], None]) -> None:
        """The script's steps, each line said as it happens; never raises."""
        self.received.append(Received(headers, body))
        say("Starting configuration update (Phase 1: Fast operations)")
        say("=" * 70)
        say("Operation 1/5: Updating index database")
        if not body:
            say("No database in POST body, fetching from S3...")
            say("ERROR: Database sync failed (exit code: 1)")
            return self._failed(say, "database sync failed")
        try:
            if headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            pages = pages_of(body)
        except (OSError, EOFError, sqlite3.DatabaseError) as exc:
            say(f"ERROR: Failed to receive database: {exc}")
            return self._failed(say, "database receive failed")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "index.sqlite3").write_bytes(body)
        update_time = headers.get("x-update-time")
        say(f"SUCCESS: Received database directly ({len(body)} bytes, updated: {update_time})")
        say("Operation 2/5: Updating htpasswd file")
        if self.mode == "fail":
            say("ERROR: htpasswd update failed: the stand-in was told to fail")
            return self._failed(say, "htpasswd update failed")
        say("SUCCESS: htpasswd updated")
        say("Operation 3/5: Generating showcases configuration")
        if self.mode == "truncated":
            return  # the script was killed here: no marker
        say("SUCCESS: Showcases configuration generated")
        say("Operation 4/5: Generating navigator configuration")
        say("SUCCESS: Navigator configuration generated")
        say("Operation 5/5: Preparing new event databases")
        say("INFO: No new databases to prepare")
        say("=" * 70)
        say("Configuration update COMPLETED successfully")
        say("Navigator will detect config changes and reload automatically")
        say("Post-reload hook will run prerender and event database updates")
        with self.lock:  # navigator reloads now; the prerender comes after the answer
            self.pages = pages
            ready = float("inf") if self.mode == "nopage" else time.monotonic() + self.page_delay_s
            self.pages_ready_at = ready

    @staticmethod
    def _failed(say: Callable[[str], None], why: str) -> None:
        say("=" * 70)
        say(f"Configuration update FAILED ({why})")

    def page(self, path: str) -> tuple[int, str, bytes]:
        with self.lock:
            page = self.pages.get(path)
            ready = time.monotonic() >= self.pages_ready_at
        if page is None:
            return 404, "text/plain", b"Not Found"
        if page.region is not None and page.region != self.region:
            body = {
                "region": self.replay_to or page.region,
                "timeout": "30s",
                "fallback": "force_self",
                "transform": {"set_headers": [{"name": "X-Navigator-Retry", "value": "true"}]},
            }
            return 307, REPLAY_TYPE, json.dumps(body).encode()
        if not ready:
            return 404, "text/plain", b"Not Found"
        return 200, "text/html; charset=utf-8", f"<h1>{page.name}</h1>".encode()


def pages_of(index: bytes) -> dict[str, Page]:
    """Every showcase page the index defines, with the region that serves it."""
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(index)
        locations = {
            row[0]: Location(
                id=row[0], key=row[1], name=row[2], region=row[3], latitude=row[4], longitude=row[5]
            )
            for row in db.execute(
                "SELECT id, key, name, region, latitude, longitude FROM locations"
            )
        }
        regions = [
            Region(type=row[0], code=row[1], latitude=row[2], longitude=row[3])
            for row in db.execute("SELECT type, code, latitude, longitude FROM regions")
        ]
        shows = db.execute(
            "SELECT s.year, s.location_id, s.key, s.name, (SELECT count(*) FROM showcases o "
            "WHERE o.location_id = s.location_id AND o.year = s.year) FROM showcases s"
        ).fetchall()
    finally:
        db.close()
    served = served_regions(regions)
    pages = {}
    for year, location_id, key, name, that_year in shows:
        location = locations.get(location_id)
        if location is None or year is None:
            continue
        lone = is_lone_showcase(key or "", that_year)
        path = page_path(year, location.key or "", key or "", lone=lone)
        pages[path] = Page(f"{location.name} - {name}", region_for(location, served))
    return pages


def handler_for(machine: StandInMachine) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        # HTTP/1.0: the streamed log ends when the connection closes, as a CGI's may.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            if self.path != machine.update_path:
                return self._answer(404, "text/plain", b"Not Found")
            # Headers first, before the body is even read: the CGI's own order.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.flush()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            machine.update(headers, body, self._say)

        def _say(self, message: str) -> None:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.wfile.write(f"[{stamp}] {message}\n".encode())
            self.wfile.flush()

        def do_GET(self) -> None:
            if self.path == "/healthz":
                return self._answer(200, "text/plain", b"ok")
            self._answer(*machine.page(self.path.split("?")[0]))

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            print(f"{machine.machine_id}: {format % args}", flush=True)

    return Handler


def serve(machine: StandInMachine, host: str, port: int) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer((host, port), handler_for(machine))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.standin_machine",
        description="A stand-in Rails machine: navigator's update_config CGI and its pages.",
    )
    parser.add_argument("--id", required=True, help="the machine's id (for its log lines)")
    parser.add_argument("--region", required=True, help="its Fly region, e.g. iad")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data", type=Path, required=True, help="where it keeps the index")
    parser.add_argument("--path", default=DEFAULT_PATH, help="the update endpoint's path")
    parser.add_argument("--mode", default="ok", choices=["ok", "fail", "truncated", "nopage"])
    parser.add_argument(
        "--page-delay", type=float, default=1.0, help="seconds from the answer to the pages"
    )
    args = parser.parse_args(argv)
    machine = StandInMachine(args.id, args.region, args.data, args.path, args.mode, args.page_delay)
    index = args.data / "index.sqlite3"
    if index.exists():  # a restart serves what it last received, pages ready
        machine.pages, machine.pages_ready_at = pages_of(index.read_bytes()), 0.0
    server = serve(machine, args.host, args.port)
    print(f"{args.id} ({args.region}): update_config stand-in on {args.host}:{args.port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
