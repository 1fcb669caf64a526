"""Real receivers the alert tests send to: an HTTP server (webhook and Slack shapes)
that records every request and can answer 500 or hang for the first N, and an SMTP
server (aiosmtpd) that records every mail."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.helpers.browser import serving


@dataclass
class Received:
    """One request as the receiver got it."""

    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """Whether ``X-Durableruns-Signature`` is the HMAC-SHA256 of the raw body."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-durableruns-signature", ""), expected)


@dataclass
class Receiver:
    """An HTTP receiver: ``fail_first`` requests answer 500, ``hang_first`` never answer
    (until ``release`` is set)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_first: int = 0
    hang_first: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def take(request: Request) -> JSONResponse:
            self.received.append(Received(dict(request.headers), await request.body()))
            number = len(self.received)
            if number <= self.hang_first:
                await self.release.wait()
                return JSONResponse({"late": True}, status_code=500)
            if number <= self.hang_first + self.fail_first:
                return JSONResponse({"error": "down"}, status_code=500)
            return JSONResponse({"ok": True})

        return app


@contextlib.asynccontextmanager
async def http_receiver(**options: Any) -> AsyncIterator[Receiver]:
    """A :class:`Receiver` on a real 127.0.0.1 port."""
    receiver = Receiver(**options)
    async with serving(receiver.app()) as url:
        receiver.url = url + "/hook"
        try:
            yield receiver
        finally:
            receiver.release.set()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@contextlib.contextmanager
def smtp_receiver() -> Any:
    """An aiosmtpd server on a free port; yields (port, the list of messages)."""
    mailbox = _Mailbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox.messages
    finally:
        controller.stop()
