"""``runs.subscribe_to_stream``: the chunks of a run's stream (``ctx.stream`` in its
task), live, from the start or from an offset.

Example::

    async for token in runs.subscribe_to_stream(handle, "llm"):
        print(token, end="", flush=True)

It reads ``GET /realtime/v1/streams/{runId}/{key}`` (server-sent events, one chunk per
event with its offset as the event id); a dropped connection is picked up again after
the last chunk received (``Last-Event-ID``), so no chunk is lost or repeated. It ends
at the stream's end marker, or when the run finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from durableruns.sdk.client import stream
from durableruns.sdk.handles import RunHandle
from durableruns.sdk.sse import server_sent_events
from durableruns.sdk.subscriptions import Subscription

RECONNECT_DELAY_S = 0.5
MAX_RECONNECTS = 20
"""Reconnects in a row with no chunk in between before the error is raised."""


def subscribe_to_stream(
    run: RunHandle | str, key: str, *, from_offset: int = 0
) -> Subscription[Any]:
    """The chunks (JSON values) of the run's stream ``key`` from ``from_offset`` (0 is
    the first chunk), in order, ending with the stream (or the run)."""
    run_id = run if isinstance(run, str) else run.id
    return Subscription(_chunks(run_id, key, from_offset))


async def _chunks(run_id: str, key: str, from_offset: int) -> AsyncGenerator[Any, None]:
    next_offset, failures = from_offset, 0
    while True:
        headers = {"Last-Event-ID": str(next_offset - 1)} if next_offset > 0 else {}
        try:
            async with contextlib.aclosing(_events(run_id, key, headers)) as events:
                async for offset, value in events:
                    if offset < next_offset:
                        continue
                    failures = 0
                    next_offset = offset + 1
                    yield value
            return  # the body closed: the stream (or the run) ended
        except (httpx.TransportError, httpx.RemoteProtocolError):
            failures += 1
            if failures > MAX_RECONNECTS:
                raise
            await asyncio.sleep(RECONNECT_DELAY_S)


async def _events(
    run_id: str, key: str, headers: dict[str, str]
) -> AsyncGenerator[tuple[int, Any], None]:
    """``(offset, chunk)`` of each event of the stream's response."""
    path = f"/realtime/v1/streams/{run_id}/{key}"
    async with stream("GET", path, headers=headers) as response:
        async for event in server_sent_events(response):
            if event.has_data and event.id:
                yield int(event.id), event.data
