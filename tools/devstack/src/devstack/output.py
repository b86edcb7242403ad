"""Every process's output lines, prefixed with its name (in colour on a terminal)."""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

_COLOURS = (36, 32, 33, 35, 34, 91, 92, 93, 94, 95, 96, 31)


class LogMux:
    """Copies the lines of many pipes to one stream, whole lines only, never interleaved."""

    def __init__(self, stream: TextIO | None = None, colour: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.colour = _is_tty(self.stream) if colour is None else colour
        self._lock = threading.Lock()
        self._width = 8
        self._colours: dict[str, int] = {}

    def register(self, name: str) -> None:
        """Reserve a colour and widen the prefix column so names line up."""
        with self._lock:
            self._width = max(self._width, len(name))
            self._colours.setdefault(name, _COLOURS[len(self._colours) % len(_COLOURS)])

    def prefix(self, name: str) -> str:
        label = f"{name:<{self._width}} | "
        if not self.colour:
            return label
        return f"\x1b[{self._colours.get(name, 37)}m{label}\x1b[0m"

    def line(self, name: str, text: str) -> None:
        with self._lock:
            self.stream.write(self.prefix(name) + text.rstrip("\n") + "\n")
            self.stream.flush()

    def follow(self, name: str, fd: int) -> threading.Thread:
        """Read `fd` (a pipe's read end) until EOF in a daemon thread; closes it at the end."""
        self.register(name)

        def pump() -> None:
            with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as pipe:
                for text in pipe:
                    self.line(name, text)

        thread = threading.Thread(target=pump, name=f"log-{name}", daemon=True)
        thread.start()
        return thread


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("NO_COLOR") is None
    except (AttributeError, ValueError):
        return False
