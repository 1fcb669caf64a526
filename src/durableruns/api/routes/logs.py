"""``/api/v1/runs/{id}/logs``: a run's log lines, a page at a time or live (SSE).

A durableruns extension (Trigger.dev shows logs in its dashboard only). Lines come
from the run's own history (``service/run_logs.py``): exact, in order, readable after
the run finished with no worker running.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, cast, get_args

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import StreamingResponse

from durableruns.api.deps import ServiceDep
from durableruns.api.errors import ApiHTTPError
from durableruns.log_models import LogLevel
from durableruns.service.run_logs import MAX_PAGE, LogEntry, LogFilter
from durableruns.wire_logs import LogLineBody, LogPage, LogPagination

router = APIRouter(tags=["logs"])
RunId = Annotated[str, Path(description="The run's id, ``run_…``")]
LEVELS = frozenset(get_args(LogLevel))


def _filter(cursor: str | None, level: list[str] | None, attempt: int | None) -> LogFilter:
    levels = None
    if level:
        wanted = {v.upper() for item in level for v in item.split(",") if v}
        if unknown := wanted - LEVELS:
            raise ApiHTTPError(400, f"level: unknown level {sorted(unknown)[0]!r}")
        levels = cast(frozenset[LogLevel], frozenset(wanted))
    return LogFilter(after=cursor, levels=levels, attempt=attempt)


def _body(entry: LogEntry) -> LogLineBody:
    line = entry.line
    return LogLineBody(
        timestamp=line.timestamp,
        level=line.level,
        attempt=line.attempt,
        message=line.message,
        attributes=line.attributes,
        cursor=entry.cursor,
    )


@router.get("/api/v1/runs/{run_id}/logs", response_model=LogPage)
async def list_run_logs(
    run_id: RunId,
    service: ServiceDep,
    cursor: Annotated[str | None, Query(description="From after this line")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
    level: Annotated[list[str] | None, Query(description="DEBUG, LOG, INFO, WARN, ERROR")] = None,
    attempt: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> LogPage:
    """A page of the run's log lines, oldest first, with the cursor of the next page."""
    await service.require(run_id)
    entries, more = await service.logs.page(run_id, _filter(cursor, level, attempt), limit)
    next_cursor = entries[-1].cursor if more and entries else None
    return LogPage(data=[_body(e) for e in entries], pagination=LogPagination(next=next_cursor))


@router.get("/api/v1/runs/{run_id}/logs/stream")
async def follow_run_logs(
    run_id: RunId,
    service: ServiceDep,
    level: Annotated[list[str] | None, Query()] = None,
    attempt: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """The run's log as server-sent events: every line (from ``cursor`` or the
    ``Last-Event-ID`` a reconnect sends), then new ones live, then ``end``."""
    await service.require(run_id)
    filter = _filter(last_event_id or cursor, level, attempt)

    async def events() -> AsyncIterator[str]:
        async for entry in service.logs.follow(run_id, filter):
            data: dict[str, Any] = _body(entry).to_wire()
            yield f"id: {entry.cursor}\nevent: log\ndata: {json.dumps(data)}\n\n"
        yield "event: end\ndata: {}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
