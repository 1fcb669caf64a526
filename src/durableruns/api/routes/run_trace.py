"""What the official client reads about a finished (or running) run besides the run
itself: its trace (``runs.retrieveRunTrace``, ``retrieveSpan``), its events as a JSON
list (``listRunEvents``, ``GET /api/v1/runs/{id}/events``; our server-sent stream of the
run is at ``/events/stream``), its result (``getRunResult``) and a batch's results
(``getBatchResults``).

Trace, spans and events all come from the waterfall we build from the run's own history
(``engine/run_timeline.py``), so they need no collector and no worker.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from durableruns.api.deps import BatchServiceDep, ServiceDep
from durableruns.api.errors import ApiHTTPError
from durableruns.api.scopes import require_batch, require_run
from durableruns.errors import InvalidInputError
from durableruns.models import RunRecord
from durableruns.service.run_timeline import run_timeline
from durableruns.service.runs import RunService
from durableruns.wire_logs import TimelineSpan
from durableruns.wire_results import execution_result
from durableruns.wire_trace import run_events, span_detail, trace_page, trace_tree, utc_now

router = APIRouter(tags=["runs"])

RunId = Annotated[str, Path(description="The run's id, ``run_…``")]
NOT_FOUND = {"x-should-retry": "false"}
MAX_PAGE_SIZE = 10_000
RESULTS_AT_ONCE = 16
"""Runs of a batch read at once for its results."""


async def _spans(
    service: RunService, request: Request, run_id: str
) -> tuple[RunRecord, list[TimelineSpan]]:
    record = await service.require(run_id)
    require_run(request, record)
    spans, _ = await run_timeline(service.client, record)
    return record, spans


@router.get("/api/v1/runs/{run_id}/events")
async def list_run_events(run_id: RunId, request: Request, service: ServiceDep) -> dict[str, Any]:
    """The run's events (one per span of its trace), as a JSON list: ``{events: [...]}``."""
    record, spans = await _spans(service, request, run_id)
    return run_events(record, spans, utc_now())


@router.get("/api/v1/runs/{run_id}/trace")
async def retrieve_run_trace(
    run_id: RunId, request: Request, service: ServiceDep
) -> dict[str, Any]:
    """The run's trace: a tree of spans (run, attempts, executions, waits, steps), or,
    with ``page[size]`` / ``page[after]``, one flat page of it."""
    params = request.query_params
    paged = "page[size]" in params or "page[after]" in params
    size = _page_number(params.get("page[size]", str(MAX_PAGE_SIZE)), "page[size]", 1)
    after = _page_number(params.get("page[after]", "0"), "page[after]", 0)
    record, spans = await _spans(service, request, run_id)
    if paged:
        return trace_page(record, spans, utc_now(), size=min(size, MAX_PAGE_SIZE), after=after)
    return trace_tree(record, spans, utc_now())


def _page_number(text: str, field: str, least: int) -> int:
    if not text.isdigit() or int(text) < least:
        raise InvalidInputError(field, f"expected a whole number of at least {least}")
    return int(text)


@router.get("/api/v1/runs/{run_id}/spans/{span_id}")
async def retrieve_span(
    run_id: RunId, span_id: str, request: Request, service: ServiceDep
) -> dict[str, Any]:
    """One span of the run's trace."""
    record, spans = await _spans(service, request, run_id)
    for span in spans:
        if span.id == span_id:
            return span_detail(record, span, utc_now())
    raise ApiHTTPError(404, f"Span {span_id} not found in run {run_id}", NOT_FOUND)


@router.get("/api/v1/runs/{run_id}/result")
async def retrieve_run_result(
    run_id: RunId, request: Request, service: ServiceDep
) -> dict[str, Any]:
    """A finished run's result (``ok`` and its output, or its error); 404 while it runs."""
    record = await service.require(run_id)
    require_run(request, record)
    result = execution_result(record)
    if result is None:
        raise ApiHTTPError(404, f"Run {run_id} has not finished", NOT_FOUND)
    return result


@router.get("/api/v1/batches/{batch_id}/results")
async def retrieve_batch_results(
    batch_id: Annotated[str, Path(description="The batch's id, ``batch_…``")],
    request: Request,
    batches: BatchServiceDep,
    service: ServiceDep,
) -> dict[str, Any]:
    """The results of the batch's finished runs, in item order."""
    require_batch(request, batch_id)
    batch = await batches.retrieve(batch_id)
    if batch is None:
        raise ApiHTTPError(404, "Batch not found", NOT_FOUND)
    run_ids = [batch.run_ids[i] for i in sorted(batch.run_ids)]
    gate = asyncio.Semaphore(RESULTS_AT_ONCE)

    async def read(run_id: str) -> RunRecord | None:
        async with gate:
            return await service.retrieve(run_id)

    records = await asyncio.gather(*(read(r) for r in run_ids))
    items = [execution_result(r) for r in records if r is not None]
    return {"id": batch_id, "items": [item for item in items if item is not None]}
