"""``GET /realtime/v1/streams/{runId}/{key}``: a run's stream (``ctx.stream``) as the
official Trigger.dev client reads it — its v1 realtime-streams protocol, server-sent
events that ``streams.read`` and ``runs.subscribeToRun(id).withStreams()`` consume.

Each chunk is one event, ``id: <offset>`` (0-based, per key) and ``data: <the chunk as
JSON>``; the response ends (the body closes) at the stream's end marker, or when the
run finishes. A reconnect sends ``Last-Event-ID: <offset>`` and gets the chunks after
it (``streams.read(id, key, {startIndex: n})`` sends ``n - 1``); ``X-Trigger-Stream-Start:
latest`` starts at the chunks written from now on; ``Timeout-Seconds`` ends the
response after that long (the client's long-poll window). Chunks come from the run's
own history (``service/run_streams.py``), so a late reader gets every chunk, also with
no worker running. A public token that may read the run may read its streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import StreamingResponse

from durableruns.api.deps import ServiceDep
from durableruns.api.errors import ApiHTTPError
from durableruns.api.scopes import PUBLIC_READ, require_run
from durableruns.service.run_streams import RunStreamReader, StreamChunk

router = APIRouter(tags=["realtime"])
KEEPALIVE_SECONDS = 15.0
"""An SSE comment this often keeps proxies from closing an idle stream."""
MAX_TIMEOUT_SECONDS = 3600.0
STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no", "x-stream-version": "v1"}


@router.get("/realtime/v1/streams/{run_id}/{key}", openapi_extra=PUBLIC_READ)
async def read_stream(
    run_id: Annotated[str, Path(description="The run's id, ``run_…``")],
    key: Annotated[str, Path(description="The stream's key (``ctx.stream(key, …)``)")],
    request: Request,
    service: ServiceDep,
    last_event_id: Annotated[str | None, Header()] = None,
    x_trigger_stream_start: Annotated[str | None, Header()] = None,
    timeout_seconds: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """The stream's chunks as server-sent events, from the start or after
    ``Last-Event-ID``, live until its end marker or the run's end."""
    require_run(request, await service.require(run_id))
    reader = service.streams
    if last_event_id:
        try:
            start = int(last_event_id) + 1
        except ValueError:
            raise ApiHTTPError(400, "Last-Event-ID: not an offset of this stream") from None
    elif x_trigger_stream_start == "latest":
        start = await reader.tail(run_id, key)
    else:
        start = 0
    deadline = _timeout(timeout_seconds)
    events = _events(reader, run_id, key, max(start, 0), deadline)
    return StreamingResponse(events, media_type="text/event-stream", headers=STREAM_HEADERS)


def _timeout(value: str | None) -> float:
    if not value:
        return MAX_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ApiHTTPError(400, "Timeout-Seconds: not a number") from None
    return min(max(seconds, 1.0), MAX_TIMEOUT_SECONDS)


async def _events(
    reader: RunStreamReader, run_id: str, key: str, start: int, timeout_s: float
) -> AsyncIterator[bytes]:
    """The events; a keep-alive comment while idle; the end after ``timeout_s``."""
    chunks: asyncio.Queue[StreamChunk | None] = asyncio.Queue(maxsize=256)
    failures: list[Exception] = []

    async def pump() -> None:
        try:
            async for chunk in reader.read(run_id, key, from_offset=start):
                await chunks.put(chunk)
        except Exception as exc:  # raised where the response is written
            failures.append(exc)
        await chunks.put(None)

    loop = asyncio.get_running_loop()
    ends_at = loop.time() + timeout_s
    task = asyncio.create_task(pump())
    try:
        while (left := ends_at - loop.time()) > 0:
            try:
                chunk = await asyncio.wait_for(chunks.get(), min(left, KEEPALIVE_SECONDS))
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if chunk is None:
                break
            data = json.dumps(chunk.value, separators=(",", ":"), ensure_ascii=False)
            yield f"id: {chunk.offset}\ndata: {data}\n\n".encode()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if failures:
        raise failures[0]
