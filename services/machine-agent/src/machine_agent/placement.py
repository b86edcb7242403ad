"""How a file is put into the application's directory (sidecar mode): who may read it, and how
the index replaces a database the application may hold open.

- **Mode and owner.** A staged file gets the mode and owner of the file it replaces (the
  application reads them: a fresh temporary file would be 0600 and the agent's), or, for a new
  file, `AGENT_FILE_MODE` (default 0644) and `AGENT_FILE_OWNER` (`uid:gid`, default: the
  agent's). Set, `AGENT_FILE_MODE`/`AGENT_FILE_OWNER` apply to every file. An owner the agent
  may not give (it is not root) fails the staging when it was asked for, and is logged and left
  otherwise.
- **The index over a live WAL database.** Rails opens SQLite in WAL mode: a process holding
  `index.sqlite3` open keeps reading the renamed-away inode, and the `-wal`/`-shm` beside it
  belong to the old file. When the current index is in WAL mode (its header says so, or a
  `-wal` is there), the new index is written INTO it with SQLite's online backup (one
  transaction, through the WAL: open connections see the old or the new content, the next
  query the new one, and the `-wal`/`-shm` stay consistent). Otherwise it is renamed over the
  old one, as every other file.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from machine_agent.files import fsync_file

log = logging.getLogger(__name__)

DEFAULT_NEW_FILE_MODE = 0o644
_WAL_HEADER_OFFSET = 18
"""Bytes 18 and 19 of an SQLite header are the write/read versions: 2 means WAL mode."""
_BUSY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class FileAccess:
    """The mode and owner a placed file gets (`None`: like the file it replaces)."""

    mode: int | None = None
    uid: int | None = None
    gid: int | None = None

    @classmethod
    def parse(cls, mode: str | None, owner: str | None) -> FileAccess:
        """`mode` in octal (`0644`), `owner` as `uid:gid` (numbers: the agent and the app may
        not share a user database)."""
        uid = gid = None
        if owner:
            user, _, group = owner.partition(":")
            uid, gid = int(user), int(group or user)
        return cls(int(mode, 8) if mode else None, uid, gid)

    def apply(self, temporary: Path, replaces: Path) -> None:
        """Give `temporary` the mode and owner it must have when it becomes `replaces`."""
        try:
            current = replaces.stat()
        except FileNotFoundError:
            current = None
        mode = self.mode
        if mode is None:
            mode = stat.S_IMODE(current.st_mode) if current else DEFAULT_NEW_FILE_MODE
        os.chmod(temporary, mode)
        uid = self.uid if self.uid is not None else (current.st_uid if current else None)
        gid = self.gid if self.gid is not None else (current.st_gid if current else None)
        if uid is None and gid is None:
            return
        try:
            os.chown(temporary, -1 if uid is None else uid, -1 if gid is None else gid)
        except PermissionError:
            if self.uid is not None or self.gid is not None:
                raise PermissionError(
                    f"cannot give {replaces.name} the owner {self.uid}:{self.gid} "
                    "(AGENT_FILE_OWNER): the agent must run as root to set it"
                ) from None
            if current and (current.st_uid, current.st_gid) != (os.geteuid(), os.getegid()):
                log.warning(
                    "%s keeps the agent's owner, not %d:%d as before (the agent is not root)",
                    replaces.name,
                    current.st_uid,
                    current.st_gid,
                )


def temporary_beside(target: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.incoming-", dir=target.parent)
    os.close(fd)
    return Path(name)


def stage_bytes(target: Path, data: bytes, access: FileAccess) -> Path:
    """A temporary file beside `target` holding `data`, fsynced, with its mode and owner."""
    temporary = temporary_beside(target)
    try:
        temporary.write_bytes(data)
        access.apply(temporary, target)
        fsync_file(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def stage_copy(source: Path, target: Path, access: FileAccess) -> Path:
    """`stage_bytes` for a file (the agent's data dir may be another filesystem)."""
    temporary = temporary_beside(target)
    try:
        shutil.copyfile(source, temporary)
        access.apply(temporary, target)
        fsync_file(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def in_wal_mode(database: Path) -> bool:
    """Whether the application uses `database` in WAL mode (a `-wal` beside it, or its header)."""
    if Path(f"{database}-wal").exists():
        return True
    try:
        with database.open("rb") as f:
            header = f.read(_WAL_HEADER_OFFSET + 2)
    except FileNotFoundError:
        return False
    return header.startswith(b"SQLite format 3\x00") and header[_WAL_HEADER_OFFSET] == 2


def place_index(staged: Path, target: Path) -> None:
    """Put the staged index at `target`: into the live WAL database by an online backup, else by
    renaming (`staged` is gone afterwards either way)."""
    if not in_wal_mode(target):
        os.replace(staged, target)
        return
    try:
        copy_into_live_database(staged, target)
    finally:
        staged.unlink(missing_ok=True)


def copy_into_live_database(source: Path, target: Path) -> None:
    """Replace `target`'s content with `source`'s in one transaction, through SQLite."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=_BUSY_TIMEOUT_S)
    try:
        dst.execute("PRAGMA synchronous=FULL")
        src.backup(dst)  # all pages in one step: readers see the old or the new database
    finally:
        src.close()
        dst.close()
