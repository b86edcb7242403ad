"""A local SMTP server that keeps every message as a file (a Maildir), and sends nothing on.

`python -m devstack.smtp_sink --port 8025 --maildir .data/mail`; messages land in
`.data/mail/new/`, one file each, readable with `mailbox.Maildir`.
"""

from __future__ import annotations

import argparse
import mailbox
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def sink(maildir: Path, port: int, host: str = "127.0.0.1") -> Controller:
    """An SMTP controller (not started) that stores messages in `maildir`."""
    for sub in ("tmp", "new", "cur"):  # a Maildir is these three; create them on an empty dir too
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    return Controller(Mailbox(maildir), hostname=host, port=port)


def messages(maildir: Path) -> list[mailbox.MaildirMessage]:
    """Every message the sink has kept, oldest first."""
    if not (maildir / "new").exists():
        return []
    box = mailbox.Maildir(str(maildir), create=False)
    kept: list[mailbox.MaildirMessage] = list(box)
    return sorted(kept, key=lambda m: m.get_date())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.smtp_sink", description=__doc__)
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--maildir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args(argv)

    controller = sink(args.maildir, args.port, args.host)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    controller.start()
    print(f"SMTP sink on {args.host}:{args.port}, keeping messages in {args.maildir}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
