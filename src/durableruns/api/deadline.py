"""A bound on how long a request may wait for the run engine before it is answered.

When Temporal cannot be reached (a network partition, a paused or overloaded server)
its calls do not fail, they wait: without a bound a trigger would hang for as long as
the outage lasts, and so would every client behind it. This ASGI middleware answers
503 ``{"error": "The run engine did not answer within N s; try again"}`` (with
``Retry-After``) to an API request that has not started its answer after
``Settings.engine_deadline_s``, and cancels its handler. Once an answer has started
(a stream's headers) it is left alone, and so are requests that hold on purpose: live
realtime long polls (``live=true``) wait up to their own hold for a change, and a
batch's item stream (up to 1,000 runs started in one request) takes what it takes.

A trigger answered so may or may not have started its run (the request may have
reached Temporal just before): retrying it with the same idempotency key gets the one
run either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

ASGIApp = Callable[..., Any]
GUARDED_PREFIXES = ("/api/", "/realtime/")
"""The API: the dashboard's pages and the probes (with their own bound) are not."""
UNBOUNDED = re.compile(r"^/api/v3/batches/[^/]+/items$")
"""A batch's item stream creates up to 1,000 runs in one request: long by nature, and
safe to resend whole (each item's run id derives from the batch and its index)."""


class EngineDeadline:
    """Answer 503 to a guarded request whose answer has not started in ``deadline_s``."""

    def __init__(self, app: ASGIApp, deadline_s: float) -> None:
        self.app = app
        self.deadline_s = deadline_s

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve the request; past the deadline without an answer, answer 503."""
        if scope["type"] != "http" or not self._guarded(scope):
            await self.app(scope, receive, send)
            return
        started = asyncio.Event()

        async def watched_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        handler = asyncio.ensure_future(self.app(scope, receive, watched_send))
        answering = asyncio.ensure_future(started.wait())
        await asyncio.wait(
            {handler, answering}, timeout=self.deadline_s, return_when=asyncio.FIRST_COMPLETED
        )
        answering.cancel()
        if handler.done() or started.is_set():
            await handler
            return
        handler.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await handler
        if not started.is_set():
            await self._unavailable(send)

    def _guarded(self, scope: dict[str, Any]) -> bool:
        path = str(scope.get("path", ""))
        if not path.startswith(GUARDED_PREFIXES) or UNBOUNDED.match(path):
            return False
        raw = bytes(scope.get("query_string", b"")).decode(errors="replace")
        query: dict[str, list[str]] = parse_qs(raw)
        return query.get("live", [""])[0] != "true"

    async def _unavailable(self, send: Any) -> None:
        seconds = f"{self.deadline_s:g}"
        body = json.dumps(
            {"error": f"The run engine did not answer within {seconds} s; try again"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"5"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
