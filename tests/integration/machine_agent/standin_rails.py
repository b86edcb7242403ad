"""A stand-in for the Rails application beside a sidecar agent: a real HTTP server that serves
the files of a directory, and its "prerender" command, a real Python script.

The script does what the machine's own commands do, in miniature: it reads the index the agent
placed (`SHOWCASE_INDEX_PATH`) and writes one page per showcase where the server serves it, by
the fleet's URL rule. `StandIn.mode` makes it misbehave: `fail` prints 30 lines and exits 1,
`hang` starts a child (its pid in `child.pid`) and never ends, `nopage` succeeds but writes
nothing.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRERENDER = r"""
import json, os, sqlite3, subprocess, sys, time
from pathlib import Path

site = Path(sys.argv[1])
mode = (site / "mode").read_text().strip()
env = {k: v for k, v in os.environ.items() if k.startswith("SHOWCASE_")}
(site / "last-run.json").write_text(json.dumps(env))
print(f"prerender of generation {env['SHOWCASE_GENERATION']} ({mode})", flush=True)
if mode == "fail":
    for n in range(30):
        print(f"line {n}: something went wrong", flush=True)
    sys.exit(1)
if mode == "hang":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    (site / "child.pid").write_text(str(child.pid))
    print("waiting for ever", flush=True)
    time.sleep(3600)
if mode == "nopage":
    sys.exit(0)
db = sqlite3.connect(f"file:{env['SHOWCASE_INDEX_PATH']}?mode=ro", uri=True)
rows = db.execute(
    "SELECT s.year, l.key, s.key, s.name, "
    "(SELECT count(*) FROM showcases o WHERE o.location_id = s.location_id AND o.year = s.year)"
    " FROM showcases s JOIN locations l ON l.id = s.location_id"
).fetchall()
for year, location, key, name, that_year in rows:
    lone = that_year == 1 and key == "showcase"
    page = site / "showcase" / str(year) / location / ("" if lone else key) / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"<h1>{name}</h1>")
print(f"rendered {len(rows)} pages", flush=True)
"""


class StandIn:
    def __init__(self, root: Path, port: int) -> None:
        self.site = root / "site"
        self.db_dir = root / "db"
        self.script = root / "prerender.py"
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.seen: list[str] = []
        """Every request target the application received, in order."""

    @property
    def mode(self) -> str:
        return (self.site / "mode").read_text()

    @mode.setter
    def mode(self, value: str) -> None:
        (self.site / "mode").write_text(value)

    def command(self) -> list[str]:
        return [sys.executable, str(self.script), str(self.site)]

    def last_run(self) -> dict[str, str]:
        return dict(json.loads((self.site / "last-run.json").read_text()))


class _Pages(http.server.SimpleHTTPRequestHandler):
    """Files only: a directory without its `index.html` is a 404, as a missing page is. Each
    request's target is recorded in `seen`."""

    def __init__(self, *args: object, seen: list[str], **kwargs: object) -> None:
        self.seen = seen
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # the handler's own arguments

    def do_GET(self) -> None:
        self.seen.append(self.path)
        super().do_GET()

    def do_HEAD(self) -> None:
        self.seen.append(self.path)
        super().do_HEAD()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "no such page")

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def standin_rails(root: Path, port: int) -> Iterator[StandIn]:
    """The stand-in application, serving `root/site` on `port` until the block ends."""
    app = StandIn(root, port)
    app.site.mkdir(parents=True)
    app.db_dir.mkdir(parents=True)
    app.script.write_text(PRERENDER)
    app.mode = "ok"
    handler = functools.partial(_Pages, directory=str(app.site), seen=app.seen)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
