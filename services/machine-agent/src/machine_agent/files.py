"""Atomic file replacement: write a temp file beside the target, fsync, rename, fsync the dir.

A reader (or a crash) sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def replace_atomically(source: Path, target: Path) -> None:
    """Move `source` (on the same filesystem) over `target`, durably."""
    fsync_file(source)
    os.replace(source, target)
    fsync_dir(target.parent)


def write_atomically(target: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace `target` with `data`. `durable=False` leaves the flush to a later
    `sync_filesystem` (one flush for many files instead of two fsyncs each)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(target.parent)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    try:
        syncfs: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
        return syncfs
    except (OSError, AttributeError):  # not Linux
        return None


def sync_filesystem(path: Path) -> None:
    """Flush every pending write of the filesystem that holds `path` (Linux syncfs; else sync)."""
    syncfs = _syncfs()
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def write_if_changed(target: Path, data: bytes) -> bool:
    """Write `data` atomically unless `target` already holds exactly it; True when written."""
    try:
        if target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomically(target, data)
    return True
