"""Running a service until SIGTERM/SIGINT, then draining."""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGTERM or SIGINT (the loop then finishes the message in hand)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


class CannotStart(Exception):
    """A service's start-up step refused (its message says what to do); the runner prints it
    and exits with status 1 before serving anything."""
