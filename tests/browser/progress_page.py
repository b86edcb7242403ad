"""Driving the progress page: the form, what the bar showed, and the page's WebSocket.

`ProgressRecorder` notes every state the page displayed (a MutationObserver reporting into
Python, so the record survives the redirect). `SocketTap` sits between the page and the gateway
(Playwright's WebSocket routing): it records what the gateway sent and can hold messages back or
drop the connection, the way a flaky network would.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, WebSocketRoute

from tests.support.stack import LocalStack

DOCS = Path(__file__).resolve().parents[2] / "docs"
PIPELINE_TIMEOUT_MS = 120_000
"""A safety net against a hang, not a speed assertion."""

_OBSERVER = """
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("progress");
  if (!root) return;
  const bar = root.querySelector("[role=progressbar]");
  const message = root.querySelector("[aria-live]");
  const report = () => window.__recordProgress({
    value: Number(bar.getAttribute("aria-valuenow")),
    message: message.textContent,
    status: root.dataset.status || null,
    transport: root.dataset.transport || null,
  });
  new MutationObserver(report).observe(root, {
    attributes: true, subtree: true, childList: true, characterData: true,
  });
});
"""


@dataclass
class ProgressRecorder:
    shown: list[dict[str, Any]] = field(default_factory=list)

    def attach(self, page: Page) -> ProgressRecorder:
        page.expose_function("__recordProgress", self._record)
        page.add_init_script(_OBSERVER)
        return self

    def _record(self, state: dict[str, Any]) -> None:
        if not self.shown or self.shown[-1] != state:
            self.shown.append(state)

    @property
    def values(self) -> list[int]:
        return [s["value"] for s in self.shown]

    @property
    def messages(self) -> list[str]:
        return [s["message"] for s in self.shown]


@dataclass
class SocketTap:
    """Every progress WebSocket the page opens goes through here."""

    drop_first_after: int | None = None
    """Close the first connection after forwarding this many messages."""
    connections: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    dropped: bool = False

    def wait_for_drop(self, page: Page, timeout_s: float = 60.0) -> None:
        """Serve the page's events until the first connection has been dropped."""
        deadline = time.monotonic() + timeout_s
        while not self.dropped:
            assert time.monotonic() < deadline, "the first progress socket was never dropped"
            page.wait_for_timeout(50)  # lets Playwright deliver the socket's events

    def attach(self, page: Page) -> SocketTap:
        page.route_web_socket(lambda url: "/ws/progress" in url, self._route)
        return self

    def _route(self, ws: WebSocketRoute) -> None:
        self.connections += 1
        number, forwarded = self.connections, 0
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            nonlocal forwarded
            text = message if isinstance(message, str) else message.decode()
            self.received.append(json.loads(text))
            ws.send(text)
            forwarded += 1
            if number == 1 and forwarded == self.drop_first_after:
                ws.close(code=1012, reason="dropped by the test")
                server.close()
                self.dropped = True

        server.on_message(from_server)
        ws.on_message(lambda message: server.send(message))


@dataclass(frozen=True)
class Submitted:
    name: str
    location_key: str

    @property
    def page_path(self) -> str:
        return f"/showcase/2027/{self.location_key}/"


def fill_form(page: Page, stack: LocalStack) -> Submitted:
    """As the page's user: open the form and fill it (not sent yet)."""
    location = stack.owned_location("studio")
    name = f"Browser Gala {uuid.uuid4().hex[:8]}"
    page.goto(f"{stack.intake_url}/showcases/new")
    page.fill("#name", name)
    page.select_option("#location_id", str(location["id"]))
    page.fill("#start_date", "2027-06-12")
    return Submitted(name, location["key"])


def submit_form(page: Page, stack: LocalStack) -> Submitted:
    """Fill the form and send it; the answer redirects to the request's progress page."""
    submitted = fill_form(page, stack)
    page.click("form.showcase-form button[type=submit]")
    page.wait_for_selector("#progress[data-request-id]")
    return submitted


def wait_for_showcase_page(page: Page, submitted: Submitted) -> None:
    page.wait_for_url(f"**{submitted.page_path}**", timeout=PIPELINE_TIMEOUT_MS)
    page.wait_for_load_state()
    assert submitted.name in page.content()


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """Into docs/ when UPDATE_SCREENSHOTS=1 (or when it is missing there), else a temp dir."""
    target = DOCS / name
    if os.environ.get("UPDATE_SCREENSHOTS") != "1" and target.exists():
        target = tmp_path / name
    page.screenshot(path=str(target), full_page=True)
    return target


def assert_monotonic(values: list[int]) -> None:
    assert values == sorted(values), f"the bar went backwards: {values}"
