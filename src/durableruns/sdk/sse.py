"""Reading a ``text/event-stream`` response: the one parser the SDK's subscriptions use
(run changes, run logs, task streams)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class ServerSentEvent:
    """One event: its name (``message`` when unnamed), id and JSON data."""

    event: str
    id: str
    data: Any
    has_data: bool
    """Whether the event had data lines (JSON ``null`` is data too)."""


async def server_sent_events(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    """Each complete event of ``response`` (events without data carry ``None``)."""
    event, event_id, data = "message", "", []
    async for line in response.aiter_lines():
        if line:
            name, _, value = line.partition(":")
            if name == "event":
                event = value.strip()
            elif name == "id":
                event_id = value.strip()
            elif name == "data":
                data.append(value.removeprefix(" "))
            continue
        if data or event != "message":
            parsed = json.loads("\n".join(data)) if data else None
            yield ServerSentEvent(event, event_id, parsed, bool(data))
        event, event_id, data = "message", "", []
