"""The files the fleet derives from the index: showcases.yml and htpasswd.

Both are generated exactly as the Rails application does (../shared/RAILS_INDEX.md), as plain
functions of the index so that any caller (the built-in agent, a sidecar writing into the Rails
app's database directory) gets the same bytes. Each file is written atomically and only when its
bytes change, so a watcher (or a reload of the web server) only sees real changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from showcase_common.index import showcases_yaml
from showcase_common.index.regions import ServedRegion, served_regions

from machine_agent.files import write_if_changed
from machine_agent.index_data import IndexData

log = logging.getLogger(__name__)

SHOWCASES_YML = "showcases.yml"
HTPASSWD = "htpasswd"


def served(index: IndexData, codes: Sequence[str] | None = None) -> list[ServedRegion]:
    """The served regions: `codes` (the setting) in order, else the index's `fly` regions."""
    return served_regions(index.regions, codes)


def showcases_yml(index: IndexData, served_region_codes: Sequence[str] | None = None) -> str:
    """showcases.yml: the bytes Psych writes for the Rails generator's hash."""
    return showcases_yaml.render(
        index.locations, index.showcases, served(index, served_region_codes)
    )


def htpasswd(index: IndexData) -> str:
    """The non-NULL `users.password` lines, sorted (byte order, as SQLite's ORDER BY), joined
    with newlines, no newline at the end: the Rails `HtpasswdUpdater`'s file.

    Except lines that cannot be that user's: one with a line break (it would forge other
    entries) and one whose user part is not the row's `userid` (a row could otherwise carry a
    login for `admin`, or for anyone, into every machine's htpasswd). Both are logged."""
    lines = []
    for user in index.users:
        if user.password is None:
            continue
        if "\n" in user.password or "\r" in user.password:
            # A line break would forge other entries: such a value is not an htpasswd line.
            log.warning("users.id %s: password holds a line break; left out of htpasswd", user.id)
            continue
        owner, colon, _ = user.password.partition(":")
        if not colon or owner != user.userid:
            log.warning(
                "users.id %s: password line is not for userid %r; left out of htpasswd",
                user.id,
                user.userid,
            )
            continue
        lines.append(user.password)
    return "\n".join(sorted(lines))


def regenerate(
    index: IndexData, config_dir: Path, served_region_codes: Sequence[str] | None = None
) -> list[str]:
    """Write the derived files under `config_dir`; the names of those that changed."""
    files = {
        SHOWCASES_YML: showcases_yml(index, served_region_codes),
        HTPASSWD: htpasswd(index),
    }
    return [
        name for name, text in files.items() if write_if_changed(config_dir / name, text.encode())
    ]
