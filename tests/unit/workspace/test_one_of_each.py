"""Shared code exists once: one retry policy, one "the bus is away" error, one mailer port with
one SMTP adapter (and one log-only mailer), in libs/common; SMTP is spoken in one module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MAIL = Path("libs/common/src/showcase_common/mail.py")
SMTP_CLIENTS = {"smtplib", "aiosmtplib"}


def _sources() -> list[Path]:
    return [p for d in ("libs", "services", "tools") for p in (ROOT / d).glob("*/src/**/*.py")]


def _classes() -> Iterator[tuple[Path, ast.ClassDef]]:
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                yield path.relative_to(ROOT), node


def _defined(name: str) -> list[Path]:
    return [path for path, node in _classes() if node.name == name]


@pytest.mark.parametrize(
    ("name", "home"),
    [
        ("RetryPolicy", "libs/common/src/showcase_common/backoff.py"),
        ("BusUnavailable", "libs/common/src/showcase_common/bus/errors.py"),
        ("Mailer", MAIL),
        ("SmtpMailer", MAIL),
        ("LogMailer", MAIL),
        ("MailUnavailable", MAIL),
        ("MailRejected", MAIL),
    ],
)
def test_defined_once_in_common(name: str, home: str | Path) -> None:
    assert _defined(name) == [Path(home)]


def _is_protocol(node: ast.ClassDef) -> bool:
    return any(ast.unparse(base).endswith("Protocol") for base in node.bases)


def _sends_mail(node: ast.ClassDef) -> bool:
    """A class with a `send` method that takes a `subject`: a mailer, whatever its name."""
    return any(
        isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        and item.name == "send"
        and "subject" in {a.arg for a in [*item.args.args, *item.args.kwonlyargs]}
        for item in node.body
    )


def test_one_mailer_protocol() -> None:
    protocols = [
        f"{path}:{node.name}"
        for path, node in _classes()
        if _is_protocol(node) and _sends_mail(node)
    ]
    assert protocols == [f"{MAIL}:Mailer"], "one mailer port: showcase_common.mail.Mailer"


def _imports_smtp(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = {node.module.partition(".")[0]}
        else:
            continue
        if names & SMTP_CLIENTS:
            return True
    return False


def test_smtp_is_spoken_in_one_module() -> None:
    """Every SMTP client (smtplib, aiosmtplib) is in the one adapter: a second SMTP mailer,
    whatever it is called, fails here."""
    speakers = [path.relative_to(ROOT) for path in _sources() if _imports_smtp(path)]
    assert speakers == [MAIL]


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    """The two structural checks would see a second mailer."""
    second = ast.parse(
        "import smtplib\nclass Notifier(Protocol):\n"
        "    async def send(self, subject: str, body: str) -> None: ...\n"
    )
    [node] = [n for n in second.body if isinstance(n, ast.ClassDef)]
    assert _is_protocol(node) and _sends_mail(node)
    path = tmp_path / "second.py"
    path.write_text(ast.unparse(second))
    assert _imports_smtp(path)
