"""Realtime for one run: the official client's ``runs.subscribeToRun`` (Electric
long-polling at ``/realtime/v1/runs/{id}``) and our own server-sent events
(``/api/v1/runs/{id}/events``). Sets of runs (a tag, a batch) are in ``realtime_sets``.

Both learn of changes from the shared per-run feeds (``api.run_feed``, one history
long-poll per watched run), so a change reaches them as soon as Temporal records it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from durableruns.api.realtime_rows import (
    MUST_REFETCH,
    UP_TO_DATE,
    change_messages,
    offset_of,
    schema_header,
    shape_handle,
)
from durableruns.api.routes.runs_list import get_run_lister
from durableruns.api.run_feed import RunFeeds, get_run_feeds
from durableruns.api.scopes import PUBLIC_READ, require_run
from durableruns.models import RunRecord
from durableruns.service.run_list import RunLister
from durableruns.service.runs import RunNotFoundError
from durableruns.status import is_completed
from durableruns.wire import Run

router = APIRouter(tags=["realtime"])
log = logging.getLogger(__name__)

HOLD_SECONDS = 20.0
"""How long a live Electric request waits for a change (``app.state.realtime_hold_s``
overrides it, for tests)."""
KEEPALIVE_SECONDS = 15.0
"""An SSE comment this often keeps proxies from closing an idle stream."""
DISCOVERY_INTERVAL = 0.5
"""How often the tag stream asks visibility for new runs."""
DISCOVERY_OVERLAP = timedelta(seconds=5)
"""Each discovery looks back this far before the newest run it knows (visibility lag)."""
MAX_FOLLOWED_RUNS = 1000
FIRST_READS_AT_ONCE = 8

FeedsDep = Annotated[RunFeeds, Depends(get_run_feeds)]
ListerDep = Annotated[RunLister, Depends(get_run_lister)]
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
KEEPALIVE = b": keep-alive\n\n"


# --- Electric (the official client) --------------------------------------------------
@router.get("/realtime/v1/runs/{run_id}", openapi_extra=PUBLIC_READ)
async def run_shape(run_id: str, request: Request, feeds: FeedsDep) -> JSONResponse:
    """The run as an Electric shape: a snapshot, or (``live=true``) the next change."""
    params = request.query_params
    offset = params.get("offset", "-1")
    skip = [c for c in params.get("skipColumns", "").split(",") if c]
    handle = shape_handle(run_id)
    refetch = JSONResponse([MUST_REFETCH], status_code=409, headers={"electric-handle": handle})
    if offset == "-1" or params.get("live") != "true":
        record = await current_record(feeds, run_id)
        require_run(request, record)
        if offset != "-1" and params.get("handle") != handle:
            return refetch
        body = change_messages(record, "insert", skip)
        return _shape(body, handle, offset_of(record), {"electric-schema": schema_header(skip)})
    if params.get("handle") != handle:
        return refetch
    hold: float = getattr(request.app.state, "realtime_hold_s", HOLD_SECONDS)
    async with feeds.watch(run_id) as feed:
        # Fresh from this client's last poll, or the follower's first read.
        known = await feed.current()
        if known is None:
            raise RunNotFoundError(run_id)
        require_run(request, known)
        changed = await feed.wait_for(lambda r: offset_of(r) != offset, hold)
    cursor = {"electric-cursor": str(time.time_ns() // 1_000_000)}
    if changed is None:
        return _shape([UP_TO_DATE], handle, offset, cursor)
    return _shape(change_messages(changed, "update", skip), handle, offset_of(changed), cursor)


async def current_record(feeds: RunFeeds, run_id: str) -> RunRecord:
    """The run's record through its feed (whose follower reads it once for every
    subscriber), or RunNotFoundError."""
    async with feeds.watch(run_id) as feed:
        record = await feed.current()
    if record is None:
        raise RunNotFoundError(run_id)
    return record


def _shape(
    body: list[dict[str, Any]], handle: str, offset: str, extra: dict[str, str]
) -> JSONResponse:
    headers = {
        "electric-handle": handle,
        "electric-offset": offset,
        "electric-up-to-date": "",
        "cache-control": "no-store",
        **extra,
    }
    return JSONResponse(body, headers=headers)


# --- server-sent events --------------------------------------------------------------
@router.get("/api/v1/runs/{run_id}/events", openapi_extra=PUBLIC_READ)
async def run_events(run_id: str, request: Request, feeds: FeedsDep) -> StreamingResponse:
    """Server-sent events: the whole run now and after every change, until it is final."""
    record = await current_record(feeds, run_id)
    require_run(request, record)
    events = _run_events(record, feeds)
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


async def _run_events(record: RunRecord, feeds: RunFeeds) -> AsyncIterator[bytes]:
    async with feeds.watch(record.id) as feed:
        feed.offer(record)
        sent: dict[str, Any] | None = None
        while True:
            current = await feed.wait_for(_differs_from(sent), KEEPALIVE_SECONDS)
            if current is None:
                yield KEEPALIVE
                continue
            sent = _wire(current)
            yield _event(sent)
            if is_completed(current.status):
                return


def _differs_from(sent: dict[str, Any] | None) -> Callable[[RunRecord], bool]:
    """Whether a record would send something other than ``sent``."""
    return lambda record: _wire(record) != sent


def _wire(record: RunRecord) -> dict[str, Any]:
    return Run.from_record(record).to_wire()


def _event(body: dict[str, Any]) -> bytes:
    return b"event: run\ndata: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
