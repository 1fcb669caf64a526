"""Realtime: the official client's ``runs.subscribeToRun`` (Electric long-polling at
``/realtime/v1/runs/{id}``) and our own server-sent events, for one run
(``/api/v1/runs/{id}/events``) or for the runs with a tag (``/api/v1/runs/events``).

All of them learn of changes from the shared per-run feeds (``api.run_feed``); the tag
stream finds new runs through visibility, so a new run shows up there within about a
second, and its changes after that as fast as a single run's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from durableruns.api.deps import ServiceDep
from durableruns.api.errors import ApiHTTPError
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
from durableruns.durations import DurationError, parse_duration
from durableruns.engine.run_list import RunFilter, RunLister, UnsupportedValueError
from durableruns.engine.run_list import check_searchable as searchable
from durableruns.models import RunRecord
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
@router.get("/realtime/v1/runs/{run_id}")
async def run_shape(
    run_id: str, request: Request, service: ServiceDep, feeds: FeedsDep
) -> JSONResponse:
    """The run as an Electric shape: a snapshot, or (``live=true``) the next change."""
    params = request.query_params
    offset = params.get("offset", "-1")
    skip = [c for c in params.get("skipColumns", "").split(",") if c]
    handle = shape_handle(run_id)
    refetch = JSONResponse([MUST_REFETCH], status_code=409, headers={"electric-handle": handle})
    if offset == "-1" or params.get("live") != "true":
        record = await service.require(run_id)
        if offset != "-1" and params.get("handle") != handle:
            return refetch
        body = change_messages(record, "insert", skip)
        return _shape(body, handle, offset_of(record), {"electric-schema": schema_header(skip)})
    if params.get("handle") != handle:
        return refetch
    hold: float = getattr(request.app.state, "realtime_hold_s", HOLD_SECONDS)
    async with feeds.watch(run_id) as feed:
        if feed.record is None:  # else the feed is fresh from this client's last poll
            feed.offer(await service.require(run_id))
        changed = await feed.wait_for(lambda r: offset_of(r) != offset, hold)
    cursor = {"electric-cursor": str(time.time_ns() // 1_000_000)}
    if changed is None:
        return _shape([UP_TO_DATE], handle, offset, cursor)
    return _shape(change_messages(changed, "update", skip), handle, offset_of(changed), cursor)


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
@router.get("/api/v1/runs/events")
async def runs_with_tag_events(
    feeds: FeedsDep,
    lister: ListerDep,
    tag: Annotated[str, Query(description="Follow the runs that have this tag")],
    created_at: Annotated[
        str, Query(alias="createdAt", description="How far back to start, e.g. 1h")
    ] = "1d",
) -> StreamingResponse:
    """Server-sent events: each run with the tag (existing, then new), again on every change."""
    try:
        since = datetime.now(UTC) - timedelta(seconds=parse_duration(created_at))
    except DurationError as exc:
        raise ApiHTTPError(400, f"createdAt: {exc}") from exc
    try:
        run_filter = RunFilter(tags=(searchable(tag),), created_from=since)
    except UnsupportedValueError as exc:
        raise ApiHTTPError(400, f"tag: {exc}") from exc
    events = _tag_events(run_filter, lister, feeds)
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/api/v1/runs/{run_id}/events")
async def run_events(run_id: str, service: ServiceDep, feeds: FeedsDep) -> StreamingResponse:
    """Server-sent events: the whole run now and after every change, until it is final."""
    record = await service.require(run_id)
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


async def _tag_events(
    run_filter: RunFilter, lister: RunLister, feeds: RunFeeds
) -> AsyncIterator[bytes]:
    changes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    first_reads = asyncio.Semaphore(FIRST_READS_AT_ONCE)
    followers: dict[str, asyncio.Task[None]] = {}

    async def follow(run_id: str) -> None:
        async with feeds.watch(run_id) as feed:
            async with first_reads:
                current = await feed.wait_for(lambda r: True, None)
            sent: dict[str, Any] | None = None
            while current is not None:
                sent = _wire(current)
                await changes.put(sent)
                if is_completed(current.status):
                    return
                current = await feed.wait_for(_differs_from(sent), None)

    async def discover() -> None:
        floor = run_filter.created_from
        while True:
            try:
                page = await lister.page(replace(run_filter, created_from=floor), 100)
            except Exception:  # a visibility hiccup: try again next round
                log.warning("discovering runs for a tag stream failed", exc_info=True)
            else:
                for row in reversed(page.rows):
                    if row.run_id not in followers and len(followers) < MAX_FOLLOWED_RUNS:
                        followers[row.run_id] = asyncio.create_task(follow(row.run_id))
                if page.rows and floor is not None:
                    floor = max(floor, page.rows[0].created_at - DISCOVERY_OVERLAP)
            await asyncio.sleep(DISCOVERY_INTERVAL)

    discoverer = asyncio.create_task(discover())
    try:
        while True:
            try:
                body = await asyncio.wait_for(changes.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield KEEPALIVE
                continue
            yield _event(body)
    finally:
        for task in [discoverer, *followers.values()]:
            task.cancel()


def _differs_from(sent: dict[str, Any] | None) -> Callable[[RunRecord], bool]:
    """Whether a record would send something other than ``sent``."""
    return lambda record: _wire(record) != sent


def _wire(record: RunRecord) -> dict[str, Any]:
    return Run.from_record(record).to_wire()


def _event(body: dict[str, Any]) -> bytes:
    return b"event: run\ndata: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
