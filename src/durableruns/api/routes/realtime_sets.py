"""Realtime over sets of runs: the runs with a tag, the runs of a batch.

* Electric shapes, as the official client's ``runs.subscribeToRunsWithTag(tag)``
  (``GET /realtime/v1/runs?tags=…&createdAt=…``) and ``runs.subscribeToBatch(id)``
  (``GET /realtime/v1/batches/{id}``) long-poll them: the first request (``offset=-1``)
  makes a set (``engine.run_sets``) and answers a snapshot of its rows under the set's
  handle; later requests answer every row that changed after their offset (the set's
  sequence number), holding a live request until one does. A handle whose set is gone
  (idle too long, or another process) gets 409 must-refetch, and the client starts over.
* Server-sent events for the Python SDK: ``/api/v1/runs/events?tag=…`` and
  ``/api/v1/batches/{id}/events``, each run again after every change.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from durableruns.api.deps import BatchServiceDep, get_environment
from durableruns.api.errors import ApiHTTPError
from durableruns.api.realtime_rows import MUST_REFETCH, UP_TO_DATE, change_messages, schema_header
from durableruns.api.routes.realtime import HOLD_SECONDS, KEEPALIVE, SSE_HEADERS, _event, _wire
from durableruns.api.routes.runs_list import get_run_lister
from durableruns.api.run_feed import run_feeds_of
from durableruns.api.scopes import PUBLIC_READ, require_batch, require_tags
from durableruns.durations import DurationError, parse_duration
from durableruns.service.run_list import RunFilter, RunLister, UnsupportedValueError
from durableruns.service.run_list import check_searchable as searchable
from durableruns.service.run_sets import Discovery, RunSet, RunSets, batch_discovery
from durableruns.service.tag_discovery import TagDiscoverers

router = APIRouter(tags=["realtime"])

KEEPALIVE_SECONDS = 15.0
DEFAULT_CREATED_AT = "1d"
"""How far back a tag subscription looks when the client gives no ``createdAt``."""


async def get_run_sets(request: Request) -> RunSets:
    """The caller's environment's shape sets, made on first use."""
    environment = get_environment(request)
    sets: RunSets | None = environment.cache.get("run_sets")
    if sets is None:
        sets = environment.cache["run_sets"] = RunSets(run_feeds_of(request))
    return sets


async def get_tag_discoverers(request: Request) -> TagDiscoverers:
    """The caller's environment's tag discoverers (one visibility poll per tag filter)."""
    environment = get_environment(request)
    found: TagDiscoverers | None = environment.cache.get("tag_discoverers")
    if found is None:
        found = environment.cache["tag_discoverers"] = TagDiscoverers()
    return found


SetsDep = Annotated[RunSets, Depends(get_run_sets)]
TagsDep = Annotated[TagDiscoverers, Depends(get_tag_discoverers)]
ListerDep = Annotated[RunLister, Depends(get_run_lister)]


def _tag_filter(tags: list[str], created_at: str | None) -> RunFilter:
    try:
        since = datetime.now(UTC) - timedelta(
            seconds=parse_duration(created_at or DEFAULT_CREATED_AT)
        )
    except DurationError as exc:
        raise ApiHTTPError(400, f"createdAt: {exc}") from exc
    try:
        return RunFilter(tags=tuple(searchable(t) for t in tags), created_from=since)
    except UnsupportedValueError as exc:
        raise ApiHTTPError(400, f"tag: {exc}") from exc


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


# --- Electric ------------------------------------------------------------------------
@router.get("/realtime/v1/runs", openapi_extra=PUBLIC_READ)
async def runs_with_tags_shape(
    request: Request, sets: SetsDep, tags_found: TagsDep, lister: ListerDep
) -> JSONResponse:
    """The runs with any of ``tags`` (created within ``createdAt``) as an Electric shape."""
    params = request.query_params
    tags = _split(params.get("tags"))
    if not tags:
        raise ApiHTTPError(400, "tags: give at least one tag")
    require_tags(request, tags)
    run_filter = _tag_filter(tags, params.get("createdAt"))
    key = f"tags={','.join(sorted(tags))}&createdAt={params.get('createdAt', '')}"
    discovery = tags_found.discovery(lister, run_filter, key)
    return await _set_shape(request, sets, key, discovery)


@router.get("/realtime/v1/batches/{batch_id}", openapi_extra=PUBLIC_READ)
async def batch_shape(
    batch_id: str, request: Request, sets: SetsDep, batches: BatchServiceDep
) -> JSONResponse:
    """The runs of a batch as an Electric shape."""
    require_batch(request, batch_id)
    first = request.query_params.get("offset", "-1") == "-1"
    if first and await batches.retrieve(batch_id) is None:
        raise ApiHTTPError(404, "Batch not found")
    return await _set_shape(request, sets, f"batch={batch_id}", batch_discovery(batches, batch_id))


async def _set_shape(
    request: Request, sets: RunSets, key: str, discovery: Discovery
) -> JSONResponse:
    params = request.query_params
    offset = params.get("offset", "-1")
    skip = _split(params.get("skipColumns"))
    if offset == "-1":
        fresh = sets.create(discovery, key)
        async with sets.using(fresh):
            await fresh.wait_ready()
            return _answer(fresh, -1, skip, {"electric-schema": schema_header(skip)})
    run_set = sets.get(params.get("handle"), key)
    seq = _seq(offset)
    if run_set is None or seq is None or seq > run_set.seq:
        handle = params.get("handle") or ""
        return JSONResponse([MUST_REFETCH], status_code=409, headers={"electric-handle": handle})
    async with sets.using(run_set):
        extra: dict[str, str] = {}
        if params.get("live") == "true":
            hold: float = getattr(request.app.state, "realtime_hold_s", HOLD_SECONDS)
            await run_set.wait_after(seq, hold)
            extra["electric-cursor"] = str(time.time_ns() // 1_000_000)
        else:
            extra["electric-schema"] = schema_header(skip)
        return _answer(run_set, seq, skip, extra)


def _answer(run_set: RunSet, seq: int, skip: list[str], extra: dict[str, str]) -> JSONResponse:
    """Every row changed after ``seq``, then up-to-date, at the set's current offset."""
    upto = run_set.seq
    body: list[dict[str, Any]] = []
    for change in run_set.changes_after(seq):
        operation = "insert" if change.is_new else "update"
        body.append(change_messages(change.record, operation, skip)[0])
    body.append(UP_TO_DATE)
    headers = {
        "electric-handle": run_set.handle,
        "electric-offset": f"{upto}_0",
        "electric-up-to-date": "",
        "cache-control": "no-store",
        **extra,
    }
    return JSONResponse(body, headers=headers)


def _seq(offset: str) -> int | None:
    head, _, _ = offset.partition("_")
    return int(head) if head.isdigit() else None


# --- server-sent events --------------------------------------------------------------
@router.get("/api/v1/runs/events", openapi_extra=PUBLIC_READ)
async def runs_with_tag_events(
    request: Request,
    sets: SetsDep,
    tags_found: TagsDep,
    lister: ListerDep,
    tag: Annotated[str, Query(description="Follow the runs that have this tag")],
    created_at: Annotated[
        str, Query(alias="createdAt", description="How far back to start, e.g. 1h")
    ] = DEFAULT_CREATED_AT,
) -> StreamingResponse:
    """Server-sent events: each run with the tag (existing, then new), again on every change."""
    run_filter = _tag_filter([tag], created_at)
    require_tags(request, [tag])
    key = f"tags={tag}&createdAt={created_at}"
    run_set = RunSet(sets.feeds, tags_found.discovery(lister, run_filter, key), key)
    return _sse(run_set)


@router.get("/api/v1/batches/{batch_id}/events", openapi_extra=PUBLIC_READ)
async def batch_events(
    batch_id: str, request: Request, sets: SetsDep, batches: BatchServiceDep
) -> StreamingResponse:
    """Server-sent events: each run of the batch as it is created, again on every change."""
    require_batch(request, batch_id)
    if await batches.retrieve(batch_id) is None:
        raise ApiHTTPError(404, "Batch not found")
    run_set = RunSet(sets.feeds, batch_discovery(batches, batch_id), f"batch={batch_id}")
    return _sse(run_set)


def _sse(run_set: RunSet) -> StreamingResponse:
    return StreamingResponse(
        _set_events(run_set), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _set_events(run_set: RunSet) -> AsyncIterator[bytes]:
    run_set.start()
    try:
        seq = 0
        while True:
            if not await run_set.wait_after(seq, KEEPALIVE_SECONDS):
                yield KEEPALIVE
                continue
            changes = run_set.changes_after(seq)
            seq = run_set.seq
            for change in changes:
                yield _event(_wire(change.record))
    finally:
        await run_set.close()
