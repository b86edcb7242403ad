"""Running the application's own update script as navigator runs it: a CGI (sidecar mode).

On a Rails machine navigator runs `script/update_configuration.rb` for `POST
/showcase/update_config` (rubys/showcase `lib/navigator_config_generator.rb`: as root, 5 minute
timeout, `RAILS_DB_VOLUME=/data/db`, `RAILS_ENV=production`; rubys/navigator
`internal/cgi/handler.go`: the RFC 3875 variables, each request header as `HTTP_*`, the body on
standard input, the script's directory as working directory). With `AGENT_UPDATE_SCRIPT` set, a
sidecar agent does the same with the verified snapshot, gzipped, as the body — the request the
Rails job would have sent — and judges the script by the same log line the updater reads from
a machine without an agent: `Configuration update COMPLETED successfully`, else the
`Configuration update FAILED (…)` line (the script exits 1 then, but its headers are out before
any work, so behind navigator only its log could tell).

It runs through `commands.run_command`, so the script gets the same allow-listed environment as
any other command of the machine (plus the CGI variables), its output is logged capped and
redacted, and only the verdict line, never the output, reaches the HTTP answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from showcase_common.commands import command_environment, run_command

COMPLETED = "Configuration update COMPLETED successfully"
FAILED = "Configuration update FAILED"
CONTENT_TYPE = "application/vnd.sqlite3"


@dataclass
class _Verdict:
    completed: bool = False
    failed_line: str | None = None
    last_error: str | None = None
    lines: list[str] = field(default_factory=list)

    def see(self, line: str) -> None:
        text = line.strip()
        if FAILED in text and self.failed_line is None:
            self.failed_line = text
        elif COMPLETED in text:
            self.completed = True
        elif "ERROR" in text:
            self.last_error = text


class ScriptFailed(Exception):
    """The update script did not report success; the message names the line that said so."""


def _gzipped(path: Path) -> bytes:
    return gzip.compress(path.read_bytes(), mtime=0)


def cgi_environment(
    body: bytes, db_dir: Path, script_name: str, update_time: dt.datetime
) -> dict[str, str]:
    """What navigator sets for `POST {script_name}` with the Rails job's headers."""
    return {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "Navigator",
        "REQUEST_METHOD": "POST",
        "QUERY_STRING": "",
        "SCRIPT_NAME": script_name,
        "PATH_INFO": "",
        "SERVER_NAME": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": CONTENT_TYPE,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_CONTENT_ENCODING": "gzip",
        "HTTP_X_UPDATE_TIME": update_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "RAILS_DB_VOLUME": str(db_dir),
        "RAILS_ENV": "production",
    }


async def run_update_script(
    script: Path,
    index: Path,
    *,
    db_dir: Path,
    showcase_env: Mapping[str, str],
    allow: Sequence[str] = (),
    timeout_s: float = 300.0,
    script_name: str = "/showcase/update_config",
) -> None:
    """Run the script with `index` gzipped on its standard input; raises `ScriptFailed`."""
    body = await asyncio.to_thread(_gzipped, index)
    now = dt.datetime.now(dt.UTC)
    cgi = cgi_environment(body, db_dir, script_name, now)
    env = command_environment({**showcase_env, **cgi}, allow)
    verdict = _Verdict()
    # Executed itself (its #! line), in its own directory: as navigator runs it.
    outcome = await run_command(
        [str(script)], env, timeout_s, cwd=str(script.parent), stdin=body, on_line=verdict.see
    )
    if verdict.failed_line is not None:
        after = f" (after: {verdict.last_error})" if verdict.last_error else ""
        raise ScriptFailed(f"`{script}` said: {verdict.failed_line}{after}")
    if not verdict.completed:
        raise ScriptFailed(f"`{script}` did not say '{COMPLETED}' ({outcome.describe()})")
