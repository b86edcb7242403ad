"""Plain ASGI parts for middleware tests: a receive/send channel that records, an echo app."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send


@dataclass
class Channel:
    """An ASGI receive that hands out `chunks` and records how many were read; and a send."""

    chunks: list[bytes] = field(default_factory=list)
    reads: int = 0
    sent: list[Message] = field(default_factory=list)

    async def receive(self) -> Message:
        self.reads += 1
        if self.reads > len(self.chunks):
            return {"type": "http.disconnect"}
        more = self.reads < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.reads - 1], "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])


@dataclass
class EchoApp:
    """Reads the whole body and answers its length; remembers whether it ran."""

    called: bool = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        body = await Request(scope, receive).body()
        await JSONResponse({"length": len(body)})(scope, receive, send)


def http_scope(path: str = "/x", headers: dict[str, str] | None = None) -> Scope:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"type": "http", "method": "POST", "path": path, "headers": raw}
